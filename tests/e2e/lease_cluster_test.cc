// Leases on a 3-member etcpp cluster over gRPC: the leader expires a lease on time and
// every member deletes its keys at one and the same revision; a leader change (kill -9
// of the leader) expires no lease early, keeps remaining TTLs sensible, and keep-alives
// through followers keep working.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/cluster.h"

namespace etcpp::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// gRPC stubs on one member.
struct Client {
  explicit Client(const Member& m)
      : channel(grpc::CreateChannel(m.endpoint(), grpc::InsecureChannelCredentials())),
        kv(etcdserverpb::KV::NewStub(channel)),
        lease(etcdserverpb::Lease::NewStub(channel)),
        watch(etcdserverpb::Watch::NewStub(channel)) {}

  int64_t Grant(int64_t ttl) {
    grpc::ClientContext context;
    context.set_deadline(In(15));
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse response;
    auto status = lease->LeaseGrant(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.ttl(), ttl);
    return response.id();
  }
  void Put(const std::string& key, int64_t lease_id) {
    grpc::ClientContext context;
    context.set_deadline(In(15));
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value("v");
    request.set_lease(lease_id);
    etcdserverpb::PutResponse response;
    auto status = kv->Put(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  etcdserverpb::LeaseTimeToLiveResponse TimeToLive(int64_t id) {
    grpc::ClientContext context;
    context.set_deadline(In(15));
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(id);
    request.set_keys(true);
    etcdserverpb::LeaseTimeToLiveResponse response;
    auto status = lease->LeaseTimeToLive(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  // One keep-alive on a fresh stream; the TTL it answered (-1 on a failure).
  int64_t KeepAlive(int64_t id) {
    grpc::ClientContext context;
    context.set_deadline(In(15));
    auto stream = lease->LeaseKeepAlive(&context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    etcdserverpb::LeaseKeepAliveResponse response;
    bool ok = stream->Write(request) && stream->Read(&response);
    context.TryCancel();
    (void)stream->Finish();
    return ok ? response.ttl() : -1;
  }
  // The keys under `prefix` at `revision` (0: now), read locally (serializable).
  int CountAt(const std::string& prefix, int64_t revision) {
    grpc::ClientContext context;
    context.set_deadline(In(15));
    etcdserverpb::RangeRequest request;
    request.set_key(prefix);
    request.set_range_end(prefix.substr(0, prefix.size() - 1) +
                          static_cast<char>(prefix.back() + 1));
    request.set_revision(revision);
    request.set_serializable(true);
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    auto status = kv->Range(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return static_cast<int>(response.count());
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
};

// Watches `prefix` on one member from now, noting when the first response with delete
// events arrived and what it held.
class DeleteWatch {
 public:
  DeleteWatch(Client& client, const std::string& prefix) {
    context_.set_deadline(In(120));
    stream_ = client.watch->Watch(&context_);
    etcdserverpb::WatchRequest request;
    request.mutable_create_request()->set_key(prefix);
    request.mutable_create_request()->set_range_end(prefix.substr(0, prefix.size() - 1) +
                                                    static_cast<char>(prefix.back() + 1));
    etcdserverpb::WatchResponse created;
    EXPECT_TRUE(stream_->Write(request) && stream_->Read(&created) && created.created());
    thread_ = std::thread([this] {
      etcdserverpb::WatchResponse response;
      while (stream_->Read(&response)) {
        bool deletes = false;
        for (const auto& e : response.events())
          deletes = deletes || e.type() == mvccpb::Event::DELETE;
        if (!deletes) continue;
        std::lock_guard lock(mu_);
        deletes_ = response;
        at_ = Clock::now();
        return;
      }
    });
  }
  ~DeleteWatch() {
    context_.TryCancel();
    thread_.join();
    (void)stream_->Finish();
  }
  // Waits up to `seconds` for the deletes; false if none came.
  bool Wait(int seconds, etcdserverpb::WatchResponse& deletes, Clock::time_point& at) {
    auto deadline = Clock::now() + std::chrono::seconds(seconds);
    for (; Clock::now() < deadline; std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
      std::lock_guard lock(mu_);
      if (deletes_.events_size() == 0) continue;
      deletes = deletes_;
      at = at_;
      return true;
    }
    return false;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream_;
  std::mutex mu_;
  etcdserverpb::WatchResponse deletes_;
  Clock::time_point at_;
  std::thread thread_;
};

double SecondsSince(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

TEST(LeaseClusterE2E, ExpiryDeletesTheKeysOnTimeAtOneRevisionOnEveryMember) {
  Cluster cluster(3);  // etcd's default election timeout: 1 s
  ASSERT_NE(cluster.Leader(), nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::unique_ptr<DeleteWatch>> watches;
  for (auto& m : cluster.members_) {
    clients.push_back(std::make_unique<Client>(m));
    watches.push_back(std::make_unique<DeleteWatch>(*clients.back(), "l/"));
  }
  constexpr int kTtl = 5;
  auto granted = Clock::now();  // the lease starts later, when the grant is applied
  int64_t id = clients[0]->Grant(kTtl);
  for (int i = 0; i < 3; ++i) clients[i]->Put("l/" + std::to_string(i), id);

  int64_t revision = 0;
  for (size_t i = 0; i < watches.size(); ++i) {
    etcdserverpb::WatchResponse deletes;
    Clock::time_point at;
    ASSERT_TRUE(watches[i]->Wait(60, deletes, at)) << cluster.members_[i].name << " saw no expiry";
    // All three keys in one response, at one revision, the same on every member.
    ASSERT_EQ(deletes.events_size(), 3) << deletes.DebugString();
    for (const auto& e : deletes.events()) {
      EXPECT_EQ(e.type(), mvccpb::Event::DELETE);
      EXPECT_EQ(e.kv().mod_revision(), deletes.events(0).kv().mod_revision());
    }
    if (revision == 0) revision = deletes.events(0).kv().mod_revision();
    EXPECT_EQ(deletes.events(0).kv().mod_revision(), revision) << cluster.members_[i].name;
    // On time: not before the TTL, and within the TTL plus an election timeout plus 1 s.
    EXPECT_GE(SecondsSince(granted, at), kTtl) << cluster.members_[i].name;
    EXPECT_LE(SecondsSince(granted, at), kTtl + 1 + 1) << cluster.members_[i].name;
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(clients[i]->CountAt("l/", revision - 1), 3) << cluster.members_[i].name;
    EXPECT_EQ(clients[i]->CountAt("l/", revision), 0) << cluster.members_[i].name;
    EXPECT_EQ(clients[i]->TimeToLive(id).ttl(), -1) << cluster.members_[i].name;
  }
}

TEST(LeaseClusterE2E, LeaderChangeExpiresNoLeaseEarlyAndFollowersKeepLeasesAlive) {
  Cluster cluster(3);
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  std::vector<Member*> followers;
  for (auto& m : cluster.members_)
    if (&m != leader) followers.push_back(&m);
  Client first(*followers[0]), second(*followers[1]);
  DeleteWatch watch(second, "l/");

  constexpr int kLong = 30, kShort = 6;
  auto granted = Clock::now();
  int64_t long_id = first.Grant(kLong);
  int64_t short_id = first.Grant(kShort);
  first.Put("l/long", long_id);
  first.Put("l/short", short_id);

  leader->server->Stop(SIGKILL);
  Member* elected = cluster.Leader(60);
  ASSERT_NE(elected, nullptr);
  ASSERT_NE(elected, leader);
  Client& follower = elected == followers[0] ? second : first;

  // Still alive with a sensible remaining TTL: what was left (less a margin for the
  // calls), or the full TTL plus an election timeout a new leader grants.
  auto ttl = follower.TimeToLive(long_id);
  double elapsed = SecondsSince(granted, Clock::now());
  EXPECT_GE(ttl.ttl(), kLong - elapsed - 2) << ttl.DebugString();
  EXPECT_LE(ttl.ttl(), kLong + 1) << ttl.DebugString();
  EXPECT_EQ(ttl.grantedttl(), kLong);
  ASSERT_EQ(ttl.keys_size(), 1);
  EXPECT_EQ(ttl.keys(0), "l/long");
  EXPECT_EQ(follower.KeepAlive(long_id), kLong);
  EXPECT_GE(follower.TimeToLive(long_id).ttl(), kLong - 2);

  // The short lease expires, but not before its TTL.
  etcdserverpb::WatchResponse deletes;
  Clock::time_point at;
  ASSERT_TRUE(watch.Wait(60, deletes, at));
  ASSERT_EQ(deletes.events_size(), 1);
  EXPECT_EQ(deletes.events(0).kv().key(), "l/short");
  EXPECT_GE(SecondsSince(granted, at), kShort);
  EXPECT_EQ(follower.CountAt("l/long", 0), 1);

  // The old leader, back as a follower, forwards keep-alives too.
  cluster.Start(*leader, "new");
  ASSERT_TRUE(leader->server->WaitHealthy(60)) << leader->server->Log();
  Client restarted(*leader);
  auto deadline = Clock::now() + std::chrono::seconds(30);
  int64_t renewed = -1;
  while (renewed != kLong && Clock::now() < deadline) {
    renewed = restarted.KeepAlive(long_id);
    if (renewed != kLong) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(renewed, kLong) << leader->server->Log();
  EXPECT_EQ(restarted.TimeToLive(short_id).ttl(), -1);
}

}  // namespace
}  // namespace etcpp::e2e
