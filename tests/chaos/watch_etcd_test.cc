// etcd's watch guarantees, checked by the watch checker against Debian's real etcd and
// against etcpp alike:
//   - a writer makes puts, deletes and multi-key txns under a prefix while a watcher
//     follows the prefix, cutting its stream after every response and resuming at the
//     last revision it got + 1;
//   - several writers on their own keys while watchers run: some created before the
//     writes (start_revision 0), some from a past revision (history, then live), on the
//     whole prefix, one writer's prefix and one key.
// Every watcher must see exactly the committed history of its range from its start:
// each revision once, whole, in order.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/chaos/watch_checker.h"
#include "tests/e2e/harness.h"

namespace etcpp::chaos {
namespace {

using etcdserverpb::RequestOp;

// Writes `rounds` rounds of put, txn (two puts and a delete in one revision) and delete,
// returning the events they made, in revision order.
std::vector<WatchEvent> Write(etcdserverpb::KV::Stub& kv, int rounds) {
  std::vector<WatchEvent> history;
  for (int i = 0; i < rounds; ++i) {
    std::string v = std::to_string(i);
    grpc::ClientContext put_context;
    etcdserverpb::PutRequest put;
    put.set_key("w/a");
    put.set_value("a" + v);
    etcdserverpb::PutResponse put_response;
    EXPECT_TRUE(kv.Put(&put_context, put, &put_response).ok());
    history.push_back({WatchEvent::Type::kPut, "w/a", "a" + v, put_response.header().revision()});

    grpc::ClientContext txn_context;
    etcdserverpb::TxnRequest txn;
    for (const char* key : {"w/b", "w/c"}) {
      auto* p = txn.add_success()->mutable_request_put();
      p->set_key(key);
      p->set_value(std::string(key) + v);
    }
    txn.add_success()->mutable_request_delete_range()->set_key("w/a");
    etcdserverpb::TxnResponse txn_response;
    EXPECT_TRUE(kv.Txn(&txn_context, txn, &txn_response).ok());
    int64_t revision = txn_response.header().revision();
    history.push_back({WatchEvent::Type::kPut, "w/b", "w/b" + v, revision});
    history.push_back({WatchEvent::Type::kPut, "w/c", "w/c" + v, revision});
    history.push_back({WatchEvent::Type::kDelete, "w/a", "", revision});
  }
  return history;
}

struct Range {
  std::string key;
  std::string end;
  bool Holds(const std::string& k) const { return end.empty() ? k == key : k >= key && k < end; }
};

// One Watch stream on `range` from `start` (0: from now; the session then starts after
// the created response's revision, passed to `created`), read until `responses_max`
// event responses came or revision `last` was delivered (or `seconds` passed), then cut.
WatchSession Follow(etcdserverpb::Watch::Stub& watch, int64_t start, int responses_max,
                    const std::atomic<int64_t>& last, const Range& range = {"w/", "w0"},
                    int seconds = 10, const std::function<void()>& created = nullptr) {
  WatchSession session{start, {}};
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  auto stream = watch.Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(range.key);
  create->set_range_end(range.end);
  create->set_start_revision(start);
  stream->Write(request);
  etcdserverpb::WatchResponse response;
  int64_t delivered = 0;
  while (static_cast<int>(session.responses.size()) < responses_max && stream->Read(&response)) {
    if (response.created()) {
      if (start == 0) session.start_revision = response.header().revision() + 1;
      if (created) created();
    }
    if (response.events_size() == 0) continue;  // the "created" answer, progress
    WatchResponse got;
    for (const auto& e : response.events()) {
      bool put = e.type() == mvccpb::Event::PUT;
      got.events.push_back({put ? WatchEvent::Type::kPut : WatchEvent::Type::kDelete, e.kv().key(),
                            put ? e.kv().value() : "", e.kv().mod_revision()});
      delivered = e.kv().mod_revision();
    }
    session.responses.push_back(std::move(got));
    if (last.load() > 0 && delivered >= last.load()) break;
  }
  context.TryCancel();
  stream->Finish().ok();  // cancelled on purpose: its status says so
  return session;
}

class WatchGuarantees : public ::testing::TestWithParam<e2e::Server::Kind> {};

TEST_P(WatchGuarantees, ResumedStreamsDeliverEveryRevisionOnceWholeAndInOrder) {
  e2e::TempDir dir;
  e2e::Server etcd(GetParam(), dir.path() + "/server");
  ASSERT_TRUE(etcd.Healthy()) << etcd.Log();
  auto channel = grpc::CreateChannel(etcd.endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  auto watch = etcdserverpb::Watch::NewStub(channel);

  std::atomic<int64_t> last{0};  // the writer's last revision, once it is done
  std::vector<WatchEvent> history;
  std::thread writer([&] {
    history = Write(*kv, 150);
    last = history.back().revision;
  });
  std::vector<WatchSession> sessions;
  int64_t next = 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && (last.load() == 0 || next <= last.load())) {
    sessions.push_back(Follow(*watch, next, 1, last));
    for (const auto& r : sessions.back().responses)
      if (!r.events.empty()) next = r.events.back().revision + 1;
  }
  writer.join();

  WatchCheckResult result = CheckWatch(history, sessions, true);
  EXPECT_TRUE(result.ok()) << result.Explain();
  EXPECT_EQ(result.events_checked, static_cast<int64_t>(history.size()));
  // How many depends on how etcd batches events into responses; more than one means
  // the resume was exercised.
  EXPECT_GT(sessions.size(), 1u) << "the watcher should have resumed";
  std::printf("%zu events over %zu watch sessions: %s", history.size(), sessions.size(),
              result.Explain().c_str());
}

// Writes like Write, on its own prefix: w/<name>/a, b, c.
std::vector<WatchEvent> WriteUnder(etcdserverpb::KV::Stub& kv, const std::string& name, int rounds) {
  std::vector<WatchEvent> history;
  const std::string a = "w/" + name + "/a", b = "w/" + name + "/b", c = "w/" + name + "/c";
  for (int i = 0; i < rounds; ++i) {
    std::string v = std::to_string(i);
    grpc::ClientContext put_context;
    etcdserverpb::PutRequest put;
    put.set_key(a);
    put.set_value(v);
    etcdserverpb::PutResponse put_response;
    EXPECT_TRUE(kv.Put(&put_context, put, &put_response).ok());
    history.push_back({WatchEvent::Type::kPut, a, v, put_response.header().revision()});
    grpc::ClientContext txn_context;
    etcdserverpb::TxnRequest txn;
    for (const std::string& key : {b, c}) {
      auto* p = txn.add_success()->mutable_request_put();
      p->set_key(key);
      p->set_value(v);
    }
    txn.add_success()->mutable_request_delete_range()->set_key(a);
    etcdserverpb::TxnResponse txn_response;
    EXPECT_TRUE(kv.Txn(&txn_context, txn, &txn_response).ok());
    int64_t revision = txn_response.header().revision();
    history.push_back({WatchEvent::Type::kPut, b, v, revision});
    history.push_back({WatchEvent::Type::kPut, c, v, revision});
    history.push_back({WatchEvent::Type::kDelete, a, "", revision});
  }
  return history;
}

TEST_P(WatchGuarantees, ConcurrentWritersAndWatchersWithAndWithoutStartRevision) {
  e2e::TempDir dir;
  e2e::Server server(GetParam(), dir.path() + "/server");
  ASSERT_TRUE(server.Healthy()) << server.Log();
  auto channel = grpc::CreateChannel(server.endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  auto watch = etcdserverpb::Watch::NewStub(channel);
  const std::vector<Range> ranges = {{"w/", "w0"}, {"w/1/", "w/10"}, {"w/2/b", ""}};
  constexpr int kWriters = 3, kRounds = 60;

  std::atomic<int64_t> last{0};
  // Live watchers: each must be created before the first write.
  std::vector<WatchSession> live(ranges.size());
  std::vector<std::thread> live_threads;
  std::atomic<int> created{0};
  for (size_t i = 0; i < ranges.size(); ++i) {
    live_threads.emplace_back([&, i] {
      live[i] = Follow(*watch, 0, 1 << 30, last, ranges[i], 120, [&] { ++created; });
    });
  }
  for (int i = 0; i < 60000 && created.load() < static_cast<int>(ranges.size()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(created.load(), static_cast<int>(ranges.size()));

  std::vector<std::vector<WatchEvent>> written(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] { written[w] = WriteUnder(*kv, std::to_string(w), kRounds); });
  }
  // Watchers from the past while the writers run: history first, then live.
  std::atomic<int64_t> midway{0};
  std::vector<WatchSession> past(ranges.size());
  std::vector<std::thread> past_threads;
  for (size_t i = 0; i < ranges.size(); ++i) {
    past_threads.emplace_back([&, i] {
      while (midway.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      past[i] = Follow(*watch, midway.load(), 1 << 30, last, ranges[i], 120);
    });
  }
  {
    // A revision some writes in: the first one any writer acknowledged, plus a few.
    grpc::ClientContext context;
    etcdserverpb::PutRequest put;
    put.set_key("marker");
    etcdserverpb::PutResponse response;
    ASSERT_TRUE(kv->Put(&context, put, &response).ok());
    midway = std::max<int64_t>(2, response.header().revision() - 5);
  }
  for (auto& t : writers) t.join();
  std::vector<WatchEvent> history;
  for (auto& h : written) history.insert(history.end(), h.begin(), h.end());
  std::stable_sort(history.begin(), history.end(),
                   [](const WatchEvent& x, const WatchEvent& y) { return x.revision < y.revision; });
  // The last revision any watcher's range can hold: the last write under w/.
  last = history.back().revision;
  // A final write in every range, so each watcher reaches `last` or beyond and stops.
  for (const char* key : {"w/1/zz", "w/2/b"}) {
    grpc::ClientContext context;
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("end");
    etcdserverpb::PutResponse response;
    ASSERT_TRUE(kv->Put(&context, put, &response).ok());
    history.push_back({WatchEvent::Type::kPut, key, "end", response.header().revision()});
  }
  for (auto& t : live_threads) t.join();
  for (auto& t : past_threads) t.join();

  for (size_t i = 0; i < ranges.size(); ++i) {
    std::vector<WatchEvent> mine;
    for (const auto& e : history) {
      if (ranges[i].Holds(e.key)) mine.push_back(e);
    }
    // Each watcher stopped once it passed `last`: check up to what it got.
    for (const auto* session : {&live[i], &past[i]}) {
      int64_t got_to = 0;
      for (const auto& r : session->responses) got_to = std::max(got_to, r.events.back().revision);
      std::vector<WatchEvent> expected;
      for (const auto& e : mine) {
        if (e.revision <= got_to) expected.push_back(e);
      }
      ASSERT_GE(got_to, last.load()) << "range " << ranges[i].key << " stopped early";
      WatchCheckResult result = CheckWatch(expected, {*session}, true);
      EXPECT_TRUE(result.ok()) << "range " << ranges[i].key << " from " << session->start_revision
                               << ": " << result.Explain();
      EXPECT_GT(result.events_checked, 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EtcdAndEtcpp, WatchGuarantees,
                         ::testing::Values(e2e::Server::Kind::kEtcd, e2e::Server::Kind::kEtcpp),
                         [](const auto& info) {
                           return info.param == e2e::Server::Kind::kEtcd ? "etcd" : "etcpp";
                         });

}  // namespace
}  // namespace etcpp::chaos
