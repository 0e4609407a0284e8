// etcpp as an operator meets it: restarts, crashes, data dirs that are not its own,
// corrupt files, the HTTP endpoints and bad flags.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <regex>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<etcdserverpb::KV::Stub> Kv(const Server& server) {
  return etcdserverpb::KV::NewStub(
      grpc::CreateChannel(server.endpoint(), grpc::InsecureChannelCredentials()));
}

// Writers put key i = value i as fast as the server acknowledges; every acknowledged
// key is remembered. Killed with SIGKILL at a random moment, restarted, and every
// acknowledged key must be there — several times over. A restart also refuses a backend
// whose consistent index is ahead of the WAL, so each healthy restart shows it was not.
TEST(Crash, KillNineNeverLosesAnAcknowledgedWrite) {
  TempDir dir;
  std::string data_dir = dir.path() + "/member";
  std::map<std::string, std::string> acknowledged;
  std::mt19937 random(12345);
  int next_key = 0;
  int peer_port = FreePort();
  for (int round = 0; round < 5; ++round) {
    Server server(Server::Kind::kEtcpp, data_dir, {}, peer_port);
    ASSERT_TRUE(server.Healthy()) << server.Log();
    for (const auto& [key, value] : acknowledged) {
      grpc::ClientContext context;
      etcdserverpb::RangeRequest request;
      request.set_key(key);
      etcdserverpb::RangeResponse response;
      ASSERT_TRUE(Kv(server)->Range(&context, request, &response).ok());
      ASSERT_EQ(response.kvs_size(), 1) << "round " << round << ": lost " << key;
      ASSERT_EQ(response.kvs(0).value(), value);
    }
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&] {
        auto kv = Kv(server);
        while (!stop.load()) {
          std::string key;
          {
            std::lock_guard lock(mu);
            key = "key" + std::to_string(next_key++);
          }
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
          etcdserverpb::PutRequest request;
          request.set_key(key);
          request.set_value("value of " + key);
          etcdserverpb::PutResponse response;
          if (kv->Put(&context, request, &response).ok()) {
            std::lock_guard lock(mu);
            acknowledged[key] = request.value();
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 600));
    server.Stop(SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
  }
  EXPECT_GT(acknowledged.size(), 100u) << "the writers should have got somewhere";
}

TEST(Restart, GracefulStopAndStartKeepsEverything) {
  TempDir dir;
  std::string data_dir = dir.path() + "/member";
  int peer_port = FreePort();
  {
    Server server(Server::Kind::kEtcpp, data_dir, {}, peer_port);
    ASSERT_TRUE(server.Healthy()) << server.Log();
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(server.Etcdctl({"put", "k" + std::to_string(i), std::to_string(i)}).exit_code, 0);
    }
    ASSERT_EQ(server.Etcdctl({"del", "k7"}).exit_code, 0);
    EXPECT_EQ(server.Stop(SIGINT), 0) << "a graceful stop exits 0";
  }
  Server server(Server::Kind::kEtcpp, data_dir, {}, peer_port);
  ASSERT_TRUE(server.Healthy()) << server.Log();
  CommandResult keys = server.Etcdctl({"get", "k", "--prefix", "--keys-only", "-w", "json"});
  EXPECT_NE(keys.out.find("\"count\":19"), std::string::npos) << keys.out;
  CommandResult rev = server.Etcdctl({"get", "k1", "-w", "json"});
  EXPECT_NE(rev.out.find("\"revision\":22"), std::string::npos) << "revision survives: " << rev.out;
}

TEST(Restart, SnapshotsEverySnapshotCountAndRestartsFromThem) {
  TempDir dir;
  std::string data_dir = dir.path() + "/member";
  int peer_port = FreePort();
  auto snapshots = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(data_dir + "/member/snap")) n += e.path().extension() == ".snap";
    return n;
  };
  {
    Server server(Server::Kind::kEtcpp, data_dir, {"--snapshot-count", "10"}, peer_port);
    ASSERT_TRUE(server.Healthy()) << server.Log();
    for (int i = 0; i < 60; ++i) {
      ASSERT_EQ(server.Etcdctl({"put", "k" + std::to_string(i), std::to_string(i)}).exit_code, 0);
    }
    server.Stop(SIGKILL);
    EXPECT_NE(server.Log().find("saved snapshot"), std::string::npos) << server.Log();
  }
  EXPECT_GE(snapshots(), 2);
  EXPECT_LE(snapshots(), 5) << "only the newest few are kept";
  Server server(Server::Kind::kEtcpp, data_dir, {"--snapshot-count", "10"}, peer_port);
  ASSERT_TRUE(server.Healthy()) << server.Log();
  CommandResult all = server.Etcdctl({"get", "k", "--prefix", "--keys-only", "-w", "json"});
  EXPECT_NE(all.out.find("\"count\":60"), std::string::npos) << all.out;
  EXPECT_EQ(server.Etcdctl({"put", "after", "restart"}).exit_code, 0);
}

TEST(DataDir, BelongingToAnotherMemberIsRefusedAndKept) {
  TempDir dir;
  std::string data_dir = dir.path() + "/member";
  int peer_port = FreePort();
  {
    Server first(Server::Kind::kEtcpp, data_dir, {}, peer_port, "alpha");
    ASSERT_TRUE(first.Healthy()) << first.Log();
    ASSERT_EQ(first.Etcdctl({"put", "precious", "data"}).exit_code, 0);
  }
  Server second(Server::Kind::kEtcpp, data_dir, {}, peer_port, "beta");
  EXPECT_FALSE(second.Healthy());
  EXPECT_NE(second.Stop(SIGKILL), 0);
  EXPECT_NE(second.Log().find("belongs to member"), std::string::npos) << second.Log();
  Server again(Server::Kind::kEtcpp, data_dir, {}, peer_port, "alpha");
  ASSERT_TRUE(again.Healthy()) << again.Log();
  EXPECT_NE(again.Etcdctl({"get", "precious"}).out.find("data"), std::string::npos);
}

TEST(DataDir, CorruptWalIsRefusedNamingTheFileAndNothingIsDeleted) {
  TempDir dir;
  std::string data_dir = dir.path() + "/member";
  int peer_port = FreePort();
  {
    Server server(Server::Kind::kEtcpp, data_dir, {}, peer_port);
    ASSERT_TRUE(server.Healthy()) << server.Log();
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(server.Etcdctl({"put", "k" + std::to_string(i), std::string(100, 'v')}).exit_code, 0);
    }
    server.Stop(SIGINT);
  }
  std::string wal;
  for (const auto& entry : fs::directory_iterator(data_dir + "/member/wal")) {
    if (entry.path().extension() == ".wal") wal = entry.path().string();
  }
  ASSERT_FALSE(wal.empty());
  // Flip a byte early in the log (inside the first records), not in a torn tail.
  {
    std::fstream file(wal, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(200);
    char byte;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    file.seekp(200);
    file.write(&byte, 1);
  }
  auto size_before = fs::file_size(wal);
  Server server(Server::Kind::kEtcpp, data_dir, {}, peer_port);
  EXPECT_FALSE(server.Healthy());
  EXPECT_EQ(server.Stop(SIGKILL), 1) << server.Log();
  std::string log = server.Log();
  EXPECT_NE(log.find(fs::path(wal).filename().string()), std::string::npos) << log;
  EXPECT_NE(log.find("offset"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(wal));
  EXPECT_EQ(fs::file_size(wal), size_before);
}

TEST(Gateway, JsonCallsHealthVersionAndMalformedBodies) {
  TempDir dir;
  Server server(Server::Kind::kEtcpp, dir.path() + "/member");
  ASSERT_TRUE(server.Healthy()) << server.Log();
  auto post = [&](const std::string& path, const std::string& body) {
    return e2e::Run({"curl", "-s", "-w", "\n%{http_code}", "-X", "POST", "-d", body, server.url() + path});
  };
  // "foo" and "bar" in base64, as etcd's gateway wants bytes.
  EXPECT_NE(post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").out.find("\"revision\":\"2\""),
            std::string::npos);
  std::string range = post("/v3/kv/range", R"({"key":"Zm9v"})").out;
  EXPECT_NE(range.find(R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}])"),
            std::string::npos) << range;
  std::string malformed = post("/v3/kv/range", R"({"key":)").out;
  EXPECT_NE(malformed.find("\"code\":3"), std::string::npos) << malformed;
  EXPECT_EQ(malformed.substr(malformed.size() - 3), "400") << malformed;
  std::string empty_key = post("/v3/kv/put", R"({"value":"YmFy"})").out;
  EXPECT_NE(empty_key.find("etcdserver: key is not provided"), std::string::npos) << empty_key;
  EXPECT_EQ(empty_key.substr(empty_key.size() - 3), "400");
  EXPECT_EQ(e2e::Run({"curl", "-s", server.url() + "/health"}).out, R"({"health":"true","reason":""})");
  EXPECT_EQ(e2e::Run({"curl", "-s", server.url() + "/version"}).out,
            R"({"etcdserver":"3.5.0","etcdcluster":"3.5.0"})");
  EXPECT_NE(server.Etcdctl({"get", "foo"}).out.find("bar"), std::string::npos)
      << "gRPC still served on the same port";
}

// The peer port's HTTP side answers as etcd's does: GET /members lists the cluster
// (tools ask a peer URL for it), other methods and paths are refused the same way.
TEST(Gateway, PeerPortMembersAndVersionAsEtcd) {
  TempDir dir;
  int peer_port = FreePort();
  int client_port = FreePort();  // listed in /members too
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  auto session = [&] {
    std::string out;
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/members"}, {"POST", "/members"}, {"GET", "/nothing"}}) {
      auto got = e2e::Run({"curl", "-s", "-i", "-X", method, peer + path});
      std::string text = got.out;
      text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
      // Everything but the Date header etcd adds (its value differs anyway).
      text = std::regex_replace(text, std::regex("Date: [^\n]*\n"), "");
      out += method + " " + path + "\n" + text + "\n";
    }
    return out;
  };
  std::string etcd_out, etcpp_out;
  {
    Server etcd(Server::Kind::kEtcd, dir.path() + "/etcd", {}, peer_port, "default", client_port);
    ASSERT_TRUE(etcd.Healthy()) << etcd.Log();
    etcd_out = session();
  }
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp", {}, peer_port, "default", client_port);
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  etcpp_out = session();
  EXPECT_EQ(etcpp_out, etcd_out);
  EXPECT_NE(etcpp_out.find(R"("peerURLs":[")" + peer + R"("],"name":"default")"), std::string::npos) << etcpp_out;
  EXPECT_EQ(e2e::Run({"curl", "-s", peer + "/version"}).out, R"({"etcdserver":"3.5.0","etcdcluster":"3.5.0"})");
}

// etcd's metric names, so dashboards made for etcd work.
// Over --quota-backend-bytes the member raises NOSPACE: writes that add data are refused
// with etcd's error, reads and deletes pass, /health says why; after compaction, defrag
// and `alarm disarm` writes work again — and nothing written before is lost.
TEST(Alarm, NoSpaceRefusesWritesUntilDisarmed) {
  TempDir dir;
  Server server(Server::Kind::kEtcpp, dir.path() + "/member", {"--quota-backend-bytes", "400000"});
  ASSERT_TRUE(server.Healthy()) << server.Log();
  std::string value(20000, 'v');
  int written = 0;
  CommandResult put;
  for (; written < 200; ++written) {
    put = server.Etcdctl({"put", "big" + std::to_string(written), value});
    if (put.exit_code != 0) break;
  }
  ASSERT_LT(written, 200) << "quota never reached";
  EXPECT_NE(put.err.find("Error: etcdserver: mvcc: database space exceeded"), std::string::npos) << put.err;
  auto alarms = server.Etcdctl({"alarm", "list"});
  EXPECT_NE(alarms.out.find("alarm:NOSPACE"), std::string::npos) << alarms.out << alarms.err;
  EXPECT_NE(server.Etcdctl({"put", "small", "x"}).err.find("database space exceeded"), std::string::npos);
  EXPECT_EQ(server.Etcdctl({"get", "big0", "--print-value-only"}).out, value + "\n");
  EXPECT_EQ(e2e::Run({"curl", "-s", server.url() + "/health"}).out,
            R"({"health":"false","reason":"ALARM NOSPACE"})");

  ASSERT_EQ(server.Etcdctl({"del", "big", "--prefix"}).exit_code, 0);
  auto status = server.Etcdctl({"endpoint", "status", "-w", "fields"});
  std::smatch revision;
  ASSERT_TRUE(std::regex_search(status.out, revision, std::regex("\"Revision\" : (\\d+)")));
  ASSERT_EQ(server.Etcdctl({"compaction", revision[1]}).exit_code, 0);
  ASSERT_EQ(server.Etcdctl({"defrag"}).exit_code, 0);
  auto disarm = server.Etcdctl({"alarm", "disarm"});
  EXPECT_NE(disarm.out.find("alarm:NOSPACE"), std::string::npos) << disarm.out << disarm.err;
  EXPECT_EQ(server.Etcdctl({"alarm", "list"}).out, "");
  EXPECT_EQ(server.Etcdctl({"put", "small", "x"}).out, "OK\n");
  EXPECT_EQ(e2e::Run({"curl", "-s", server.url() + "/health"}).out, R"({"health":"true","reason":""})");
}

// --auto-compaction-mode periodic with a 2 s retention: within a few seconds history
// older than 2 s is compacted by the leader through raft.
TEST(AutoCompaction, PeriodicCompactsHistoryOlderThanTheRetention) {
  TempDir dir;
  Server server(Server::Kind::kEtcpp, dir.path() + "/member",
                {"--auto-compaction-mode", "periodic", "--auto-compaction-retention", "2s"});
  ASSERT_TRUE(server.Healthy()) << server.Log();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(server.Etcdctl({"put", "k", std::to_string(i)}).exit_code, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  CommandResult old;
  while (std::chrono::steady_clock::now() < deadline) {
    old = server.Etcdctl({"get", "k", "--rev", "2"});
    if (old.exit_code != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_NE(old.err.find("Error: etcdserver: mvcc: required revision has been compacted"), std::string::npos)
      << old.out << old.err;
  EXPECT_NE(server.Log().find("completed auto compaction"), std::string::npos);
  EXPECT_EQ(server.Etcdctl({"get", "k", "--print-value-only"}).out, "4\n");
}

TEST(Metrics, EtcdsNamesAreServedOnTheClientAndMetricsPorts) {
  TempDir dir;
  int metrics_port = FreePort();
  std::string metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port);
  Server server(Server::Kind::kEtcpp, dir.path() + "/member", {"--listen-metrics-urls", metrics_url});
  ASSERT_TRUE(server.Healthy()) << server.Log();
  ASSERT_EQ(server.Etcdctl({"put", "a", "1"}).exit_code, 0);
  ASSERT_NE(server.Etcdctl({"put", "", "1"}).exit_code, 0);
  for (const std::string& url : {server.url(), metrics_url}) {
    std::string text = e2e::Run({"curl", "-s", url + "/metrics"}).out;
    for (const char* line :
         {"etcd_server_has_leader 1", "etcd_server_is_leader 1",
          "etcd_server_leader_changes_seen_total 1", "etcd_server_proposals_pending 0",
          "etcd_server_proposals_failed_total 0", "etcd_disk_wal_fsync_duration_seconds_count",
          "etcd_disk_backend_commit_duration_seconds_count", "etcd_mvcc_db_total_size_in_bytes",
          "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\","
          "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 1",
          "grpc_server_handled_total{grpc_code=\"InvalidArgument\",grpc_method=\"Put\","
          "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 1"}) {
      EXPECT_NE(text.find(line), std::string::npos) << url << " lacks " << line << "\n" << text;
    }
    // The put and the member's publication of its name and client URLs (more than one
    // if a retry raced with the first): every one committed was applied.
    std::smatch committed, applied;
    ASSERT_TRUE(std::regex_search(text, committed, std::regex("etcd_server_proposals_committed_total (\\d+)")));
    ASSERT_TRUE(std::regex_search(text, applied, std::regex("etcd_server_proposals_applied_total (\\d+)")));
    EXPECT_GE(std::stoi(committed[1]), 2);
    EXPECT_EQ(committed[1], applied[1]);
  }
}

// The same bad flags get the same first line and exit code from etcpp as from etcd.
TEST(Flags, BadFlagsFailLikeEtcd) {
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus"},
      {"--snapshot-count", "abc"},
      {"--initial-cluster-state", "maybe"},
      {"--pre-vote=maybe"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> etcd = {"etcd"}, etcpp = {EtcppBinary()};
    etcd.insert(etcd.end(), args.begin(), args.end());
    etcpp.insert(etcpp.end(), args.begin(), args.end());
    CommandResult want = e2e::Run(etcd), got = e2e::Run(etcpp);
    EXPECT_EQ(got.exit_code, want.exit_code) << args[0];
    EXPECT_EQ(got.err.substr(0, got.err.find('\n')), want.err.substr(0, want.err.find('\n')));
  }
}

}  // namespace
}  // namespace etcpp::e2e
