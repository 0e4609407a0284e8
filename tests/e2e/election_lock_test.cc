// Elections and locks against a real etcpp: Debian's etcdctl `elect` and `lock` (which
// run etcd's recipes on the client over KV, lease and watch), and the server-side
// v3electionpb.Election and v3lockpb.Lock services through gRPC.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <regex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/harness.h"
#include "v3electionpb/v3election.grpc.pb.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace etcpp::e2e {
namespace {

using namespace std::chrono_literals;

// Runs a shell script with $E set to etcdctl against `server`; every wait in the
// scripts polls until its condition holds, bounded by the overall timeout.
CommandResult Script(const Server& server, const std::string& body, int timeout_s = 120) {
  std::string script = "set -u\ncd \"$(mktemp -d)\"\nE=\"etcdctl --endpoints " + server.endpoint() +
                       "\"\nexport E ETCDCTL_API=3\n" + body;
  return Run({"sh", "-c", script}, "", {{"ETCDCTL_API", "3"}}, timeout_s);
}

TEST(EtcdctlElect, TheNextCampaignerLeadsWhenTheLeadersSessionEnds) {
  TempDir dir;
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp");
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  CommandResult r = Script(etcpp, R"sh(
$E elect jobs p1 > a.out 2>&1 & A=$!
until grep -q p1 a.out; do sleep 0.1; done
$E elect -l jobs > observe.out 2>&1 & O=$!
$E elect jobs p2 > b.out 2>&1 & B=$!
until [ "$($E get jobs/ --prefix --keys-only | grep -c jobs/)" = 2 ]; do sleep 0.1; done
until grep -q p1 observe.out; do sleep 0.1; done
grep -c p2 b.out || true
kill -INT $A; wait $A
until grep -q p2 b.out; do sleep 0.1; done
until grep -q p2 observe.out; do sleep 0.1; done
kill -INT $B $O; wait $B $O
echo "== a"; cat a.out; echo "== b"; cat b.out; echo "== observe"; cat observe.out
)sh");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // While p1 led, p2 waited (printed nothing); the observer saw p1, then p2.
  EXPECT_TRUE(r.out.rfind("0\n", 0) == 0) << r.out;
  EXPECT_NE(r.out.find("== a\njobs/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p1\n== b\njobs/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p2\n== observe\njobs/"), std::string::npos) << r.out;
  auto observed = r.out.substr(r.out.find("== observe"));
  EXPECT_LT(observed.find("p1"), observed.find("p2")) << r.out;
}

TEST(EtcdctlLock, ConcurrentIncrementsUnderTheLockLoseNothing) {
  TempDir dir;
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp");
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  const int processes = 4, rounds = 5;
  // Each increment is a read and a write by separate etcdctl processes: without mutual
  // exclusion, concurrent rounds would overwrite each other.
  CommandResult r = Script(etcpp, "$E put counter 0 > /dev/null\n"
                                  "for p in $(seq " + std::to_string(processes) + "); do\n"
                                  "  (for i in $(seq " + std::to_string(rounds) + "); do\n"
                                  "    $E lock counter-lock -- sh -c 'v=$($E get counter --print-value-only); "
                                  "$E put counter $((v + 1)) > /dev/null' > /dev/null || exit 1\n"
                                  "  done) &\n"
                                  "done\n"
                                  "wait\n"
                                  "$E get counter --print-value-only\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, std::to_string(processes * rounds) + "\n") << r.err;
}

// The JSON gateway's election and lock routes, side by side with etcd's.
TEST(GatewaySideBySide, LockAndElectionRoutes) {
  auto session = [](const Server& server) {
    auto post = [&](const std::string& path, const std::string& body) {
      CommandResult r = e2e::Run({"curl", "-s", "-w", " %{http_code}", "-X", "POST", "-d", body, server.url() + path});
      std::string out = std::regex_replace(r.out, std::regex("\"header\":\\{[^}]*\\},?"), "");
      return path + " " + body + "\n" + out + "\n";
    };
    std::string out;
    out += post("/v3/lease/grant", R"({"TTL":60,"ID":100})");
    out += post("/v3/lease/grant", R"({"TTL":60,"ID":200})");
    out += post("/v3/lock/lock", R"({"name":"bXk=","lease":"100"})");
    out += post("/v3/lock/unlock", R"({"key":"bXkvNjQ="})");
    out += post("/v3/lock/lock", R"({"name":"bXk=","lease":"12345"})");
    out += post("/v3/election/leader", R"({"name":"ZQ=="})");
    out += post("/v3/election/campaign", R"({"name":"ZQ==","lease":"200","value":"djE="})");
    out += post("/v3/election/leader", R"({"name":"ZQ=="})");
    out += post("/v3/election/proclaim", R"({"leader":{"name":"ZQ==","key":"ZS9jOA==","rev":"5","lease":"200"},"value":"djI="})");
    out += post("/v3/election/proclaim", R"({"leader":{"name":"ZQ==","key":"ZS9jOA==","rev":"4","lease":"200"},"value":"djI="})");
    out += post("/v3/election/proclaim", R"({"value":"djI="})");
    out += post("/v3/election/resign", R"({"leader":{"name":"ZQ==","key":"ZS9jOA==","rev":"5","lease":"200"}})");
    out += post("/v3/election/leader", R"({"name":"ZQ=="})");
    return out;
  };
  auto run = RunSideBySide(session);
  ASSERT_EQ(run.failure, "");
  EXPECT_EQ(run.etcpp, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
}

class Services : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(Server::Kind::kEtcpp, dir_.path() + "/etcpp");
    ASSERT_TRUE(server_->Healthy()) << server_->Log();
    channel_ = grpc::CreateChannel(server_->endpoint(), grpc::InsecureChannelCredentials());
    lease_ = etcdserverpb::Lease::NewStub(channel_);
    kv_ = etcdserverpb::KV::NewStub(channel_);
    election_ = v3electionpb::Election::NewStub(channel_);
    lock_ = v3lockpb::Lock::NewStub(channel_);
  }

  int64_t Grant() {
    grpc::ClientContext context;
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(60);
    etcdserverpb::LeaseGrantResponse response;
    EXPECT_TRUE(lease_->LeaseGrant(&context, request, &response).ok());
    return response.id();
  }
  void Revoke(int64_t id) {
    grpc::ClientContext context;
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(id);
    etcdserverpb::LeaseRevokeResponse response;
    EXPECT_TRUE(lease_->LeaseRevoke(&context, request, &response).ok());
  }
  grpc::Status Lock(const std::string& name, int64_t lease, v3lockpb::LockResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    v3lockpb::LockRequest request;
    request.set_name(name);
    request.set_lease(lease);
    return lock_->Lock(&context, request, response);
  }
  grpc::Status Campaign(const std::string& name, int64_t lease, const std::string& value,
                        v3electionpb::CampaignResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    v3electionpb::CampaignRequest request;
    request.set_name(name);
    request.set_lease(lease);
    request.set_value(value);
    return election_->Campaign(&context, request, response);
  }
  grpc::Status Leader(const std::string& name, v3electionpb::LeaderResponse* response) {
    grpc::ClientContext context;
    v3electionpb::LeaderRequest request;
    request.set_name(name);
    return election_->Leader(&context, request, response);
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<v3electionpb::Election::Stub> election_;
  std::unique_ptr<v3lockpb::Lock::Stub> lock_;
};

TEST_F(Services, LockIsHeldByOneAtATimeInArrivalOrder) {
  int64_t a = Grant(), b = Grant(), c = Grant();
  v3lockpb::LockResponse held;
  ASSERT_TRUE(Lock("res", a, &held).ok());
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(a));
  EXPECT_EQ(held.key(), std::string("res/") + hex);
  v3lockpb::LockResponse second, third;
  auto b_locked = std::async(std::launch::async, [&] { return Lock("res", b, &second); });
  // b queues before c: poll until its key exists.
  for (int keys = 0; keys < 2;) {
    grpc::ClientContext context;
    etcdserverpb::RangeRequest range;
    range.set_key("res/");
    range.set_range_end("res0");
    range.set_count_only(true);
    etcdserverpb::RangeResponse response;
    ASSERT_TRUE(kv_->Range(&context, range, &response).ok());
    keys = static_cast<int>(response.count());
    if (keys < 2) std::this_thread::sleep_for(20ms);
  }
  auto c_locked = std::async(std::launch::async, [&] { return Lock("res", c, &third); });
  EXPECT_EQ(b_locked.wait_for(300ms), std::future_status::timeout);
  grpc::ClientContext context;
  v3lockpb::UnlockRequest unlock;
  unlock.set_key(held.key());
  v3lockpb::UnlockResponse unlocked;
  ASSERT_TRUE(lock_->Unlock(&context, unlock, &unlocked).ok());
  ASSERT_TRUE(b_locked.get().ok());
  EXPECT_GE(second.header().revision(), unlocked.header().revision());
  EXPECT_EQ(c_locked.wait_for(300ms), std::future_status::timeout);
  Revoke(b);  // the holder's lease ends: the lock passes on
  ASSERT_TRUE(c_locked.get().ok());
  EXPECT_NE(third.key(), second.key());
  // A lease that does not exist cannot hold a lock.
  v3lockpb::LockResponse none;
  grpc::Status refused = Lock("res2", 12345, &none);
  EXPECT_EQ(refused.error_message(), "etcdserver: requested lease not found");
}

TEST_F(Services, CampaignProclaimLeaderObserveResign) {
  v3electionpb::LeaderResponse leader;
  EXPECT_EQ(Leader("vote", &leader).error_message(), "election: no leader");
  int64_t a = Grant(), b = Grant();
  v3electionpb::CampaignResponse won;
  ASSERT_TRUE(Campaign("vote", a, "alpha", &won).ok());
  EXPECT_EQ(won.leader().name(), "vote");
  EXPECT_EQ(won.leader().lease(), a);
  EXPECT_EQ(won.leader().rev(), won.header().revision());
  ASSERT_TRUE(Leader("vote", &leader).ok());
  EXPECT_EQ(leader.kv().value(), "alpha");

  grpc::ClientContext observe_context;
  v3electionpb::LeaderRequest observe_request;
  observe_request.set_name("vote");
  auto observe = election_->Observe(&observe_context, observe_request);
  v3electionpb::LeaderResponse seen;
  ASSERT_TRUE(observe->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "alpha");

  {
    grpc::ClientContext context;
    v3electionpb::ProclaimRequest proclaim;
    *proclaim.mutable_leader() = won.leader();
    proclaim.set_value("alpha2");
    v3electionpb::ProclaimResponse proclaimed;
    ASSERT_TRUE(election_->Proclaim(&context, proclaim, &proclaimed).ok());
  }
  ASSERT_TRUE(observe->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "alpha2");

  v3electionpb::CampaignResponse next;
  auto b_won = std::async(std::launch::async, [&] { return Campaign("vote", b, "beta", &next); });
  EXPECT_EQ(b_won.wait_for(300ms), std::future_status::timeout);
  {
    grpc::ClientContext context;
    v3electionpb::ResignRequest resign;
    *resign.mutable_leader() = won.leader();
    v3electionpb::ResignResponse resigned;
    ASSERT_TRUE(election_->Resign(&context, resign, &resigned).ok());
  }
  ASSERT_TRUE(b_won.get().ok());
  ASSERT_TRUE(observe->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "beta");
  observe_context.TryCancel();

  // The old leader key no longer leads; a request without a leader key is refused.
  grpc::ClientContext context;
  v3electionpb::ProclaimRequest stale;
  *stale.mutable_leader() = won.leader();
  stale.set_value("again");
  v3electionpb::ProclaimResponse response;
  EXPECT_EQ(election_->Proclaim(&context, stale, &response).error_message(), "election: not leader");
  grpc::ClientContext missing_context;
  v3electionpb::ResignRequest missing;
  v3electionpb::ResignResponse resigned;
  EXPECT_EQ(election_->Resign(&missing_context, missing, &resigned).error_message(),
            "\"leader\" field must be provided");
}

}  // namespace
}  // namespace etcpp::e2e
