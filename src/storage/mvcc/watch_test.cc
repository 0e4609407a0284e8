// The watchable store against a real store on LMDB: live and historical events, ranges,
// prev_kv, filters, atomic revisions, compaction, slow consumers, watch create errors.
#include "storage/mvcc/watch.h"

#include <gtest/gtest.h>

#include <thread>

#include "storage/mvcc/test_util.h"

namespace etcpp::mvcc {
namespace {

using namespace std::chrono_literals;

class WatchTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    testing::StoreFixture::SetUp();
    Open({});
  }
  void TearDown() override {
    streams_.clear();
    watchable_.reset();
    testing::StoreFixture::TearDown();
  }
  void Open(WatchConfig config) {
    streams_.clear();
    watchable_.reset();
    Reopen({.on_write = [this](int64_t rev, std::vector<mvccpb::Event> events) {
      if (watchable_) watchable_->Notify(rev, std::move(events));
    }});
    watchable_ = std::make_unique<WatchableStore>(store_.get(), config);
  }
  WatchStream* NewStream() {
    streams_.push_back(watchable_->NewStream(nullptr));
    return streams_.back().get();
  }
  // Waits (generously: the syncer runs on its own thread) until `n` responses came.
  std::vector<WatchResponse> TakeN(WatchStream* s, size_t n) {
    std::vector<WatchResponse> got;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      if (auto r = s->Take()) {
        got.push_back(std::move(*r));
      } else {
        std::this_thread::sleep_for(1ms);
      }
    }
    EXPECT_EQ(got.size(), n);
    return got;
  }
  int64_t Watch(WatchStream* s, WatchRequest request) {
    s->Watch(std::move(request));
    auto created = TakeN(s, 1);
    EXPECT_TRUE(created.at(0).created);
    return created.at(0).watch_id;
  }

  std::unique_ptr<WatchableStore> watchable_;
  std::vector<std::unique_ptr<WatchStream>> streams_;
};

std::vector<std::string> KeysOf(const WatchResponse& r) {
  std::vector<std::string> keys;
  for (const auto& e : r.events) keys.push_back(e.kv().key());
  return keys;
}

TEST_F(WatchTest, LiveEventsReachKeyPrefixAndRangeWatchers) {
  WatchStream* s = NewStream();
  EXPECT_EQ(Watch(s, {.key = "a"}), 0);
  EXPECT_EQ(Watch(s, {.key = "p/", .range_end = "p0"}), 1);
  EXPECT_EQ(Watch(s, {.key = "x", .range_end = std::string(1, '\0')}), 2);
  Put("a", "1");      // rev 2 → watcher 0
  Put("p/q", "2");    // rev 3 → watcher 1
  Put("b", "3");      // nobody
  Put("y", "4");      // rev 5 → watcher 2
  auto got = TakeN(s, 3);
  EXPECT_EQ(got[0].watch_id, 0);
  EXPECT_EQ(got[0].revision, 2);
  EXPECT_EQ(KeysOf(got[0]), std::vector<std::string>{"a"});
  EXPECT_EQ(got[1].watch_id, 1);
  EXPECT_EQ(got[1].revision, 3);
  EXPECT_EQ(got[2].watch_id, 2);
  EXPECT_EQ(got[2].revision, 5);
  EXPECT_FALSE(s->Take().has_value());
}

TEST_F(WatchTest, StartRevisionReplaysHistoryThenGoesLive) {
  Put("k", "1");  // 2
  Put("k", "2");  // 3
  Delete("k");    // 4
  Put("other", "x");  // 5
  ASSERT_TRUE(store_->Commit().ok());
  Put("k", "3");  // 6, uncommitted: read from the overlay
  WatchStream* s = NewStream();
  Watch(s, {.key = "k", .start_revision = 3, .prev_kv = true});
  std::vector<mvccpb::Event> events;
  while (events.size() < 3) {
    for (auto& r : TakeN(s, 1)) events.insert(events.end(), r.events.begin(), r.events.end());
  }
  Put("k", "4");  // 7, live
  for (auto& r : TakeN(s, 1)) events.insert(events.end(), r.events.begin(), r.events.end());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kv().mod_revision(), 3);
  EXPECT_EQ(events[0].prev_kv().value(), "1");
  EXPECT_EQ(events[1].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(events[1].kv().mod_revision(), 4);
  EXPECT_EQ(events[1].prev_kv().value(), "2");
  EXPECT_EQ(events[2].kv().value(), "3");
  EXPECT_EQ(events[2].kv().create_revision(), 6);
  EXPECT_FALSE(events[2].has_prev_kv());  // a creation has none
  EXPECT_EQ(events[3].kv().value(), "4");
  EXPECT_EQ(events[3].prev_kv().value(), "3");
}

TEST_F(WatchTest, PrevKvOnlyWhenAskedAndFiltersDropEvents) {
  WatchStream* s = NewStream();
  Watch(s, {.key = "k", .prev_kv = false});
  Watch(s, {.key = "k", .filter_put = true});
  Watch(s, {.key = "k", .filter_delete = true});
  Put("k", "1");
  Put("k", "2");
  Delete("k");
  auto got = TakeN(s, 6);
  int puts_seen_by_1 = 0, deletes_seen_by_2 = 0;
  for (auto& r : got) {
    for (auto& e : r.events) {
      EXPECT_FALSE(e.has_prev_kv());
      if (r.watch_id == 1) puts_seen_by_1 += e.type() == mvccpb::Event::PUT;
      if (r.watch_id == 2) deletes_seen_by_2 += e.type() == mvccpb::Event::DELETE;
    }
  }
  EXPECT_EQ(puts_seen_by_1, 0);
  EXPECT_EQ(deletes_seen_by_2, 0);
  EXPECT_FALSE(s->Take().has_value());  // nothing sent when everything was filtered
}

TEST_F(WatchTest, AllEventsOfARevisionComeInOneResponse) {
  Put("r/a", "1");
  Put("r/b", "1");
  WatchStream* s = NewStream();
  Watch(s, {.key = "r/", .range_end = "r0"});
  Watch(s, {.key = "r/", .range_end = "r0", .start_revision = 2});
  Delete("r/", "r0");  // rev 4 deletes both
  // Watcher 0 live: one response with both deletes. Watcher 1 from history: 2, 3, 4.
  std::map<int64_t, std::vector<std::vector<int64_t>>> revisions_by_response;
  auto got = TakeN(s, 2);
  for (auto& r : got) {
    std::vector<int64_t> revs;
    for (auto& e : r.events) revs.push_back(e.kv().mod_revision());
    revisions_by_response[r.watch_id].push_back(revs);
  }
  EXPECT_EQ(revisions_by_response[0], (std::vector<std::vector<int64_t>>{{4, 4}}));
  EXPECT_EQ(revisions_by_response[1], (std::vector<std::vector<int64_t>>{{2, 3, 4, 4}}));
}

TEST_F(WatchTest, CompactedStartRevisionCancelsWithCompactRevision) {
  for (int i = 0; i < 5; ++i) Put("k", std::to_string(i));  // 2..6
  ASSERT_TRUE(store_->Compact(5).ok());
  WatchStream* s = NewStream();
  int64_t id = Watch(s, {.key = "k", .start_revision = 3});
  auto got = TakeN(s, 1);
  EXPECT_EQ(got[0].watch_id, id);
  EXPECT_TRUE(got[0].canceled);
  EXPECT_EQ(got[0].compact_revision, 5);
  EXPECT_EQ(watchable_->WatcherCount(), 0u);
  // At the compacted revision itself the history is still whole.
  Watch(s, {.key = "k", .start_revision = 5});
  EXPECT_EQ(TakeN(s, 1)[0].events.size(), 2u);
}

TEST_F(WatchTest, SlowConsumerFallsBehindAndCatchesUpWithoutLoss) {
  Open({.stream_events_max = 8, .catch_up_revisions_max = 5});
  WatchStream* s = NewStream();
  Watch(s, {.key = "k"});
  for (int i = 0; i < 100; ++i) Put("k", std::to_string(i));  // the writer never waits
  EXPECT_EQ(watchable_->UnsyncedCountForTesting(), 1u);
  std::vector<int64_t> revisions;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (revisions.size() < 100 && std::chrono::steady_clock::now() < deadline) {
    if (auto r = s->Take()) {
      for (auto& e : r->events) revisions.push_back(e.kv().mod_revision());
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  ASSERT_EQ(revisions.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(revisions[i], i + 2);
  // Synced again: a new write is delivered live.
  for (int i = 0; i < 3000 && watchable_->UnsyncedCountForTesting() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(watchable_->UnsyncedCountForTesting(), 0u);
  Put("k", "live");
  EXPECT_EQ(TakeN(s, 1)[0].events.at(0).kv().value(), "live");
}

TEST_F(WatchTest, RefusedCreatesCarryEtcdsReasons) {
  WatchStream* s = NewStream();
  EXPECT_EQ(Watch(s, {.watch_id = 7, .key = "a"}), 7);
  s->Watch({.watch_id = 7, .key = "b"});
  auto dup = TakeN(s, 1)[0];
  EXPECT_TRUE(dup.created);
  EXPECT_TRUE(dup.canceled);
  EXPECT_EQ(dup.watch_id, -1);
  EXPECT_EQ(dup.cancel_reason, "mvcc: duplicate watch ID provided on the WatchStream");
  s->Watch({.key = "b", .range_end = "a"});
  auto empty = TakeN(s, 1)[0];
  EXPECT_EQ(empty.watch_id, -1);
  EXPECT_EQ(empty.cancel_reason, "mvcc: watcher range is empty");
  // Automatic ids skip the ones the user took.
  EXPECT_EQ(Watch(s, {.key = "a"}), 0);
  EXPECT_EQ(Watch(s, {.watch_id = 1, .key = "a"}), 1);
  EXPECT_EQ(Watch(s, {.key = "a"}), 2);
}

TEST_F(WatchTest, CancelStopsEventsAndProgressReportsTheRevision) {
  WatchStream* s = NewStream();
  int64_t id = Watch(s, {.key = "a"});
  s->Cancel(id);
  auto canceled = TakeN(s, 1)[0];
  EXPECT_TRUE(canceled.canceled);
  EXPECT_EQ(canceled.watch_id, id);
  s->Cancel(42);  // unknown: nothing, as etcd
  Put("a", "1");
  s->RequestProgress();
  auto progress = TakeN(s, 1)[0];
  EXPECT_EQ(progress.watch_id, -1);
  EXPECT_EQ(progress.revision, 2);
  EXPECT_TRUE(progress.events.empty());
}

TEST_F(WatchTest, ProgressNotifyTicksOnlyIdleWatchers) {
  Open({.sync_interval = std::chrono::milliseconds(10), .progress_interval = std::chrono::milliseconds(50)});
  WatchStream* s = NewStream();
  Watch(s, {.key = "a", .progress_notify = true});
  Watch(s, {.key = "b"});
  auto got = TakeN(s, 1)[0];
  EXPECT_EQ(got.watch_id, 0);
  EXPECT_TRUE(got.events.empty());
  EXPECT_EQ(got.revision, 1);
}

}  // namespace
}  // namespace etcpp::mvcc
