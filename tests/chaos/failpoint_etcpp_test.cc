// Failpoints in a real etcpp process (a build with the CMake option ETCPP_FAILPOINTS):
// a member that crashes at a named point, or whose WAL fsync fails, stops, and after a
// restart every write it acknowledged is there.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/harness.h"

namespace etcpp::chaos {
namespace {

struct Member {
  std::string data_dir;
  int peer_port = e2e::FreePort();
  int client_port = e2e::FreePort();

  std::unique_ptr<e2e::Server> Start(const std::string& failpoints) const {
    std::string client = "http://127.0.0.1:" + std::to_string(client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    std::vector<std::string> argv = {e2e::EtcppBinary(), "--name", "m0", "--data-dir", data_dir,
                                     "--listen-client-urls", client, "--advertise-client-urls", client,
                                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", "m0=" + peer};
    std::map<std::string, std::string> env;
    if (!failpoints.empty()) env["ETCPP_FAILPOINTS"] = failpoints;
    return std::make_unique<e2e::Server>(argv, data_dir + ".log", client_port, env);
  }
};

// Puts k0, k1, ... until one fails; returns the keys acknowledged.
std::vector<std::string> PutUntilFailure(const std::string& endpoint, int puts_max) {
  auto kv = etcdserverpb::KV::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  std::vector<std::string> acknowledged;
  for (int i = 0; i < puts_max; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    etcdserverpb::PutRequest request;
    request.set_key("k" + std::to_string(i));
    request.set_value("v" + std::to_string(i));
    etcdserverpb::PutResponse response;
    if (!kv->Put(&context, request, &response).ok()) break;
    acknowledged.push_back(request.key());
  }
  return acknowledged;
}

bool ExitsWithin(e2e::Server& server, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (server.Running()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::set<std::string> Keys(const std::string& endpoint) {
  auto kv = etcdserverpb::KV::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  etcdserverpb::RangeRequest request;
  request.set_key("k");
  request.set_range_end("l");
  request.set_keys_only(true);
  etcdserverpb::RangeResponse response;
  std::set<std::string> keys;
  EXPECT_TRUE(kv->Range(&context, request, &response).ok());
  for (const auto& kv : response.kvs()) keys.insert(kv.key());
  return keys;
}

// Arms `failpoints`, writes until the member stops answering, and checks that it
// stopped and that a clean restart has every acknowledged write.
void CrashAndRecover(const std::string& failpoints) {
  e2e::TempDir dir;
  Member member{dir.path() + "/m0"};
  auto server = member.Start(failpoints);
  ASSERT_TRUE(server->Healthy()) << server->Log();
  std::vector<std::string> acknowledged = PutUntilFailure(server->endpoint(), 2000);
  EXPECT_TRUE(ExitsWithin(*server, std::chrono::seconds(30))) << "the member went on after " << failpoints;
  std::string log = server->Log();
  EXPECT_NE(log.find("failpoint"), std::string::npos) << log;
  server.reset();
  auto restarted = member.Start("");
  ASSERT_TRUE(restarted->Healthy()) << restarted->Log();
  std::set<std::string> keys = Keys(restarted->endpoint());
  for (const auto& key : acknowledged) EXPECT_TRUE(keys.count(key)) << key << " lost after " << failpoints;
  std::printf("%s: %zu puts acknowledged, all there after the restart\n", failpoints.c_str(), acknowledged.size());
}

TEST(Failpoints, FailedWalFsyncStopsTheMember) { CrashAndRecover("wal-fdatasync=error@40"); }

TEST(Failpoints, CrashBeforeWalFsyncLosesNothingAcknowledged) { CrashAndRecover("wal-before-fsync=crash@40"); }

TEST(Failpoints, CrashAfterWalFsyncLosesNothingAcknowledged) { CrashAndRecover("wal-after-fsync=crash@40"); }

TEST(Failpoints, CrashBeforeBackendCommitLosesNothingAcknowledged) {
  CrashAndRecover("backend-before-commit=crash@3");
}

TEST(Failpoints, CrashAfterBackendCommitLosesNothingAcknowledged) {
  CrashAndRecover("backend-after-commit=crash@3");
}

}  // namespace
}  // namespace etcpp::chaos
