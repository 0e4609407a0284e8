// Client tests against a real etcd on loopback: failover, auth token refresh, watch
// resume across a restart, lease keep-alive, mutex and election.
#include "client/client.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "client/concurrency.h"
#include "client/etcd_for_testing.h"
#include "client/keepalive.h"
#include "client/watch.h"

namespace etcpp::client {
namespace {

using namespace std::chrono_literals;

Config ConfigFor(std::vector<std::string> endpoints) {
  Config config;
  config.endpoints = std::move(endpoints);
  config.dial_timeout = 1s;
  // Generous: the machine running the tests is shared and at times heavily loaded.
  config.request_timeout = 20s;
  return config;
}

std::unique_ptr<Client> MustConnect(Config config) {
  auto client = Client::Connect(std::move(config));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(client.value());
}

base::Status Put(Client& client, const std::string& key, const std::string& value) {
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  return client.Put(request).status();
}

base::Result<std::string> Get(Client& client, const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  auto response = client.Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs_size() == 0) return base::Status(base::Code::kNotFound, key);
  return response->kvs(0).value();
}

// Collects watch events across threads.
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> keys;

  void Add(const etcdserverpb::WatchResponse& response) {
    std::lock_guard lock(mu);
    for (const auto& event : response.events()) keys.push_back(event.kv().key());
    cv.notify_all();
  }
  bool WaitFor(size_t count) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 15s, [&] { return keys.size() >= count; });
  }
};

TEST(ClientTest, FailsOverWhenTheFirstEndpointIsDown) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  const std::string dead = "127.0.0.1:" + std::to_string(EtcdForTesting::UnusedPort());
  auto client = MustConnect(ConfigFor({dead, etcd.endpoint()}));
  ASSERT_TRUE(Put(*client, "k", "v").ok());
  auto value = Get(*client, "k");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "v");
}

TEST(ClientTest, AsyncCallsShareOneConnection) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  ASSERT_TRUE(Put(*client, "warm", "up").ok());  // connected before the burst
  constexpr int kRequests = 500;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  for (int i = 0; i < kRequests; ++i) {
    etcdserverpb::PutRequest put;
    put.set_key("async/" + std::to_string(i));
    put.set_value("v");
    client->PutAsync(put, [&](base::Result<etcdserverpb::PutResponse> response) {
      std::lock_guard lock(mu);
      ++done;
      failed += !response.ok();
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return done == kRequests; }));
  EXPECT_EQ(failed, 0);
  etcdserverpb::RangeRequest count;
  count.set_key("async/");
  count.set_range_end(PrefixRangeEnd("async/"));
  count.set_count_only(true);
  auto counted = client->Range(count);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->count(), kRequests);
}

TEST(ClientTest, UnreachableClusterFailsWithContextDeadline) {
  Config config = ConfigFor({"127.0.0.1:" + std::to_string(EtcdForTesting::UnusedPort())});
  config.request_timeout = 1s;
  auto client = MustConnect(config);
  const auto start = std::chrono::steady_clock::now();
  auto value = Get(*client, "k");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "context deadline exceeded");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(ClientTest, ServerErrorsKeepEtcdText) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  etcdserverpb::RangeRequest request;
  request.set_key("k");
  request.set_revision(1000);
  auto response = client->Range(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().message(), "etcdserver: mvcc: required revision is a future revision");
}

TEST(ClientTest, RefreshesAnExpiredAuthToken) {
  EtcdForTesting etcd({"--auth-token=simple", "--auth-token-ttl=1"});
  ASSERT_TRUE(etcd.Start());
  {
    auto admin = MustConnect(ConfigFor({etcd.endpoint()}));
    etcdserverpb::AuthUserAddRequest user;
    user.set_name("root");
    user.set_password("secret");
    ASSERT_TRUE(admin->UserAdd(user).ok());
    etcdserverpb::AuthRoleAddRequest role;
    role.set_name("root");
    ASSERT_TRUE(admin->RoleAdd(role).ok());
    etcdserverpb::AuthUserGrantRoleRequest grant;
    grant.set_user("root");
    grant.set_role("root");
    ASSERT_TRUE(admin->UserGrantRole(grant).ok());
    ASSERT_TRUE(admin->AuthEnable(etcdserverpb::AuthEnableRequest()).ok());
  }
  Config config = ConfigFor({etcd.endpoint()});
  config.username = "root";
  config.password = "secret";
  auto client = MustConnect(config);
  ASSERT_TRUE(Put(*client, "k", "1").ok());
  // Simple tokens expire after --auth-token-ttl of inactivity; the next call is refused
  // with "invalid auth token" and must succeed after re-authenticating.
  std::this_thread::sleep_for(3s);
  base::Status put = Put(*client, "k", "2");
  EXPECT_TRUE(put.ok()) << put.ToString();

  // A watch opened with the expired token renews it too.
  std::this_thread::sleep_for(3s);
  Events events;
  etcdserverpb::WatchCreateRequest watch;
  watch.set_key("k");
  auto watcher = Watcher::Start(*client, watch, [&](const auto& response) { events.Add(response); });
  for (int i = 0; i < 100 && watcher->next_revision() == 0; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(Put(*client, "k", "3").ok());
  EXPECT_TRUE(events.WaitFor(1));
  watcher.reset();

  Config wrong = config;
  wrong.password = "nope";
  auto refused = Client::Connect(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "etcdserver: authentication failed, invalid user ID or password");
}

TEST(WatcherTest, ResumesAfterTheServerRestarts) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  Events events;
  etcdserverpb::WatchCreateRequest request;
  request.set_key("w/");
  request.set_range_end(PrefixRangeEnd("w/"));
  auto watcher = Watcher::Start(*client, request, [&](const auto& response) { events.Add(response); });
  // Until the watch is created, a put could come before its start revision.
  for (int i = 0; i < 100 && watcher->next_revision() == 0; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(Put(*client, "w/1", "a").ok());
  ASSERT_TRUE(events.WaitFor(1));

  etcd.Stop();
  ASSERT_TRUE(etcd.Start());
  ASSERT_TRUE(Put(*client, "w/2", "b").ok());
  ASSERT_TRUE(Put(*client, "w/3", "c").ok());
  ASSERT_TRUE(events.WaitFor(3));
  std::this_thread::sleep_for(200ms);  // a duplicate would arrive now
  std::lock_guard lock(events.mu);
  EXPECT_EQ(events.keys, (std::vector<std::string>{"w/1", "w/2", "w/3"}));
}

TEST(WatcherTest, EndsWhenTheStartRevisionIsCompacted) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  ASSERT_TRUE(Put(*client, "c", "1").ok());
  ASSERT_TRUE(Put(*client, "c", "2").ok());
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(3);
  ASSERT_TRUE(client->Compact(compact).ok());
  etcdserverpb::WatchCreateRequest request;
  request.set_key("c");
  request.set_start_revision(1);
  auto watcher = Watcher::Start(*client, request, [](const auto&) {});
  base::Status ended = watcher->Wait();
  EXPECT_EQ(ended.message(), "etcdserver: mvcc: required revision has been compacted");
}

TEST(LeaseKeeperTest, KeepsALeaseAliveBeyondItsTtl) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(2);
  auto lease = client->LeaseGrant(grant);
  ASSERT_TRUE(lease.ok());
  auto keeper = LeaseKeeper::Start(*client, lease->id(), nullptr);
  std::this_thread::sleep_for(4s);
  etcdserverpb::LeaseTimeToLiveRequest ttl;
  ttl.set_id(lease->id());
  auto alive = client->LeaseTimeToLive(ttl);
  ASSERT_TRUE(alive.ok());
  EXPECT_GT(alive->ttl(), 0);
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease->id());
  ASSERT_TRUE(client->LeaseRevoke(revoke).ok());
  EXPECT_EQ(keeper->Wait().code(), base::Code::kNotFound);
}

TEST(ConcurrencyTest, MutexWaitsForThePreviousHolder) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  auto first = Session::Create(*client, 10);
  auto second = Session::Create(*client, 10);
  ASSERT_TRUE(first.ok() && second.ok());
  Mutex held(**first, "lock");
  ASSERT_TRUE(held.Lock().ok());
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>((*first)->lease_id()));
  EXPECT_EQ(held.key(), std::string("lock/") + hex);

  std::atomic<bool> acquired{false};
  Mutex waiting(**second, "lock");
  std::thread waiter([&] {
    EXPECT_TRUE(waiting.Lock().ok());
    acquired = true;
  });
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(acquired.load());
  ASSERT_TRUE(held.Unlock().ok());
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

TEST(ConcurrencyTest, ElectionHandsOverOnResign) {
  EtcdForTesting etcd;
  ASSERT_TRUE(etcd.Start());
  auto client = MustConnect(ConfigFor({etcd.endpoint()}));
  auto first = Session::Create(*client, 10);
  auto second = Session::Create(*client, 10);
  ASSERT_TRUE(first.ok() && second.ok());
  Election a(**first, "elect"), b(**second, "elect");
  ASSERT_TRUE(a.Campaign("a").ok());
  std::atomic<bool> won{false};
  std::thread candidate([&] {
    EXPECT_TRUE(b.Campaign("b").ok());
    won = true;
  });
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(won.load());
  auto leader = a.Leader();
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->kvs(0).value(), "a");
  ASSERT_TRUE(a.Proclaim("a2").ok());
  EXPECT_EQ(a.Leader()->kvs(0).value(), "a2");
  ASSERT_TRUE(a.Resign().ok());
  candidate.join();
  EXPECT_EQ(b.Leader()->kvs(0).value(), "b");
}

}  // namespace
}  // namespace etcpp::client
