// Store semantics, as etcd v3.5 answers them: revisions and versions, put options,
// delete, range limits/sort/filters, revision errors, compaction, restore, hash.
#include "storage/mvcc/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/crc32c.h"
#include "storage/mvcc/test_util.h"

namespace etcpp::mvcc {
namespace {

using testing::kAllKeys;

class StoreTest : public testing::StoreFixture {};

std::vector<std::string> Keys(const RangeResponse& r) {
  std::vector<std::string> keys;
  for (const auto& kv : r.kvs) keys.push_back(kv.key());
  return keys;
}

TEST_F(StoreTest, RevisionsAndVersionsFollowEtcd) {
  EXPECT_EQ(store_->Rev(), 1);  // a fresh etcd is at revision 1
  EXPECT_EQ(Put("a", "1", 7), 2);
  EXPECT_EQ(Put("a", "2"), 3);
  auto got = Get("a");
  ASSERT_EQ(got.kvs.size(), 1u);
  EXPECT_EQ(got.revision, 3);
  EXPECT_EQ(got.kvs[0].create_revision(), 2);
  EXPECT_EQ(got.kvs[0].mod_revision(), 3);
  EXPECT_EQ(got.kvs[0].version(), 2);
  EXPECT_EQ(got.kvs[0].lease(), 0);
  EXPECT_EQ(Delete("a"), 1);
  EXPECT_EQ(store_->Rev(), 4);
  EXPECT_EQ(Delete("a"), 0);  // nothing deleted: no new revision
  EXPECT_EQ(store_->Rev(), 4);
  EXPECT_EQ(Put("a", "3"), 5);
  got = Get("a");
  EXPECT_EQ(got.kvs[0].create_revision(), 5);
  EXPECT_EQ(got.kvs[0].version(), 1);
  EXPECT_EQ(Get("a", "", 2).kvs[0].value(), "1");
  EXPECT_EQ(Get("a", "", 2).kvs[0].lease(), 7);
  EXPECT_TRUE(Get("a", "", 4).kvs.empty());
}

TEST_F(StoreTest, PutIgnoreValueAndLeaseNeedAnExistingKey) {
  PutRequest put;
  put.key = "k";
  put.ignore_value = true;
  auto missing = store_->Put(put);
  EXPECT_EQ(missing.status().message(), "etcdserver: key not found");
  EXPECT_EQ(store_->Rev(), 1);
  put.ignore_value = false;
  put.ignore_lease = true;
  EXPECT_EQ(store_->Put(put).status().message(), "etcdserver: key not found");

  Put("k", "v", 5);
  put = PutRequest{};
  put.key = "k";
  put.value = "ignored?";
  put.ignore_value = true;
  put.prev_kv = true;
  auto kept = store_->Put(put);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept->prev_kv.has_value());
  EXPECT_EQ(kept->prev_kv->value(), "v");
  auto now = Get("k").kvs[0];
  EXPECT_EQ(now.value(), "v");
  EXPECT_EQ(now.lease(), 0);  // lease not ignored: replaced by 0
  EXPECT_EQ(now.version(), 2);

  put = PutRequest{};
  put.key = "k";
  put.value = "new";
  put.lease = 9;
  ASSERT_TRUE(store_->Put(put).ok());
  put.value = "newer";
  put.lease = 0;
  put.ignore_lease = true;
  ASSERT_TRUE(store_->Put(put).ok());
  EXPECT_EQ(Get("k").kvs[0].lease(), 9);
  EXPECT_EQ(Get("k").kvs[0].value(), "newer");
}

TEST_F(StoreTest, DeleteRangeReturnsPrevKvsAndCount) {
  for (std::string k : {"a", "b", "c", "d"}) Put(k, k + "v");
  DeleteRangeRequest del;
  del.key = "b";
  del.range_end = "d";
  del.prev_kv = true;
  auto r = store_->DeleteRange(del);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, 2);
  EXPECT_EQ(r->revision, 6);
  ASSERT_EQ(r->prev_kvs.size(), 2u);
  EXPECT_EQ(r->prev_kvs[1].value(), "cv");
  EXPECT_EQ(Keys(Get("", kAllKeys)), (std::vector<std::string>{"a", "d"}));
  del = DeleteRangeRequest{};
  del.key = "zzz";
  r = store_->DeleteRange(del);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, 0);
  EXPECT_EQ(r->revision, 6);
}

TEST_F(StoreTest, RangeBoundsPrefixAndAllKeys) {
  for (std::string k : {"a", "ab", "abc", "b", "c"}) Put(k, "v");
  EXPECT_EQ(Keys(Get("ab", "b")), (std::vector<std::string>{"ab", "abc"}));
  EXPECT_EQ(Keys(Get("ab", "ac")), (std::vector<std::string>{"ab", "abc"}));  // prefix "ab"
  EXPECT_EQ(Keys(Get("b", kAllKeys)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Keys(Get("", kAllKeys)).size(), 5u);
  EXPECT_TRUE(Get("c", "a").kvs.empty());  // end before start: nothing
  EXPECT_TRUE(Get("zz").kvs.empty());
}

TEST_F(StoreTest, LimitSetsMoreAndCountIsTheTotal) {
  for (std::string k : {"a", "b", "c", "d", "e"}) Put(k, "v");
  RangeRequest r;
  r.key = "a";
  r.range_end = kAllKeys;
  r.limit = 2;
  auto got = store_->Range(r);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(got->more);
  EXPECT_EQ(got->count, 5);
  r.limit = 5;
  got = store_->Range(r);
  EXPECT_FALSE(got->more);
  EXPECT_EQ(got->kvs.size(), 5u);
  r.limit = 3;
  r.count_only = true;
  got = store_->Range(r);
  EXPECT_TRUE(got->kvs.empty());
  EXPECT_FALSE(got->more);
  EXPECT_EQ(got->count, 5);
  r.count_only = false;
  r.keys_only = true;
  got = store_->Range(r);
  EXPECT_EQ(got->kvs[0].value(), "");
  EXPECT_EQ(got->kvs[0].version(), 1);
}

TEST_F(StoreTest, FiltersPruneAfterCountAndMoreCountsWhatIsLeft) {
  for (std::string k : {"a", "b", "c", "d", "e"}) Put(k, "v");  // mod revisions 2..6
  RangeRequest r;
  r.key = "a";
  r.range_end = kAllKeys;
  r.min_mod_revision = 4;
  r.limit = 2;
  auto got = store_->Range(r);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"c", "d"}));
  EXPECT_TRUE(got->more);
  EXPECT_EQ(got->count, 5);  // the count ignores filters
  r.max_mod_revision = 5;
  got = store_->Range(r);
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(got->more);
  r = RangeRequest{};
  r.key = "a";
  r.range_end = kAllKeys;
  r.max_create_revision = 3;
  r.min_create_revision = 3;
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"b"}));
}

TEST_F(StoreTest, SortByTargetsAndOrders) {
  Put("a", "3");
  Put("b", "1");
  Put("c", "2");
  Put("b", "1");  // b: version 2, mod 5
  RangeRequest r;
  r.key = "a";
  r.range_end = kAllKeys;
  r.sort_target = SortTarget::kValue;  // order NONE with a non-key target: ascending
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"b", "c", "a"}));
  r.sort_order = SortOrder::kDescend;
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"a", "c", "b"}));
  r.sort_target = SortTarget::kKey;
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"c", "b", "a"}));
  r.sort_target = SortTarget::kVersion;  // ties (a, c) stay in key order
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"b", "a", "c"}));
  r.sort_target = SortTarget::kMod;
  r.sort_order = SortOrder::kAscend;
  r.limit = 2;
  auto got = store_->Range(r);
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(got->more);
  r.sort_target = SortTarget::kCreate;
  r.sort_order = SortOrder::kDescend;
  EXPECT_EQ(Keys(*store_->Range(r)), (std::vector<std::string>{"c", "b"}));
  // etcd quirk: with order NONE the limit is applied before the default ascending sort.
  Put("0", "9");
  r.key = "0";
  r.sort_target = SortTarget::kValue;
  r.sort_order = SortOrder::kNone;
  r.limit = 1;
  got = store_->Range(r);
  // "0" and "a" come first by key, "a" has the lower value; "b" (value 1) is never seen.
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(got->more);
}

TEST_F(StoreTest, RevisionErrorsAndCompaction) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Delete("b");    // 5
  RangeRequest r;
  r.key = "a";
  r.revision = 6;
  EXPECT_EQ(store_->Range(r).status().message(), "mvcc: required revision is a future revision");
  EXPECT_EQ(store_->Compact(6).message(), "mvcc: required revision is a future revision");
  ASSERT_TRUE(store_->Compact(3).ok());
  EXPECT_EQ(store_->CompactRev(), 3);
  r.revision = 2;
  EXPECT_EQ(store_->Range(r).status().message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(store_->Range(r).status().code(), base::Code::kOutOfRange);
  EXPECT_EQ(Get("a", "", 3).kvs[0].value(), "2");  // at the compacted revision: fine
  EXPECT_EQ(Get("b", "", 4).kvs[0].value(), "1");
  EXPECT_EQ(store_->Compact(3).message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(store_->Compact(2).message(), "mvcc: required revision has been compacted");
  ASSERT_TRUE(store_->Compact(5).ok());
  EXPECT_EQ(store_->KeyCountForTesting(), 2u);  // b's tombstone at exactly 5 stays
  EXPECT_TRUE(store_->HashKV(5).ok());            // hashing at the compacted revision is fine
  EXPECT_EQ(store_->HashKV(4).status().message(), "mvcc: required revision has been compacted");
  Reopen();
  EXPECT_EQ(store_->CompactRev(), 5);
  EXPECT_EQ(store_->Rev(), 5);
  r.revision = 4;
  EXPECT_EQ(store_->Range(r).status().message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(Get("a").kvs[0].version(), 2);
  EXPECT_EQ(Put("a", "3"), 6);
  EXPECT_EQ(Get("a").kvs[0].version(), 3);
  EXPECT_EQ(Get("a").kvs[0].create_revision(), 2);
}

TEST_F(StoreTest, CompactionAtTheCurrentRevisionKeepsTheRevision) {
  Put("a", "1");
  Delete("a");
  ASSERT_TRUE(store_->Compact(3).ok());
  Reopen();
  EXPECT_EQ(store_->Rev(), 3);  // no records left, yet the revision is not reset
  EXPECT_EQ(Put("b", "1"), 4);
}

// etcd >= 3.5.16 keeps a tombstone that sits exactly at the compacted revision (a
// watcher starting there must still get the delete); the next compaction removes it.
TEST_F(StoreTest, TombstoneAtTheCompactedRevisionSurvivesUntilTheNextCompaction) {
  Put("a", "1");  // 2
  Delete("a");    // 3
  ASSERT_TRUE(store_->Compact(3).ok());
  auto has_record = [&](Revision revision, bool tombstone) {
    EXPECT_TRUE(store_->Commit().ok());
    auto txn = backend_->Read();
    EXPECT_TRUE(txn.ok());
    auto got = txn->Get(backend::Bucket::kKey, BucketKey(revision, tombstone));
    return got.ok() && got->has_value();
  };
  EXPECT_EQ(store_->KeyCountForTesting(), 1u);
  EXPECT_TRUE(has_record({3, 0}, true));
  EXPECT_FALSE(has_record({2, 0}, false));
  Reopen();  // the index is rebuilt from the lone tombstone
  EXPECT_EQ(store_->KeyCountForTesting(), 1u);
  EXPECT_TRUE(Get("a", "", 3).kvs.empty());
  Put("b", "1");  // 4
  ASSERT_TRUE(store_->Compact(4).ok());
  EXPECT_EQ(store_->KeyCountForTesting(), 1u);  // only b
  EXPECT_FALSE(has_record({3, 0}, true));
}

// A crash (here: a child process that _exits without committing) loses exactly the
// uncommitted batch, and consistent_index always matches the data it was committed
// with — what WAL replay after a restart relies on.
TEST_F(StoreTest, CrashLosesOnlyTheUncommittedBatchAndKeepsTheConsistentIndexWithIt) {
  store_.reset();
  backend_.reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    backend::Config config;
    config.dir = dir_.string();
    auto backend = backend::Backend::Open(config);
    if (!backend.ok()) ::_exit(2);
    auto store = Store::Open(backend->get());
    if (!store.ok()) ::_exit(3);
    for (uint64_t index = 1; index <= 80; ++index) {
      PutRequest put;
      put.key = "k" + std::to_string(index % 7);
      put.value = std::to_string(index);
      if (!(*store)->Put(put).ok() || !(*backend)->SetConsistentIndex(index).ok()) ::_exit(4);
      if (index == 50 && !(*store)->Commit().ok()) ::_exit(5);
    }
    ::_exit(0);  // no destructors: the batch of entries 51..80 is never committed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Reopen();
  EXPECT_EQ(backend_->ConsistentIndex(), 50u);
  EXPECT_EQ(store_->Rev(), 51);  // revision 1 + the 50 committed puts
  EXPECT_EQ(Get("k1").kvs.at(0).value(), "50");
  EXPECT_EQ(Get("k1").kvs.at(0).version(), 8);  // puts 1, 8, ..., 50
}

TEST_F(StoreTest, RestoreRebuildsTheIndex) {
  Put("a", "1");
  Put("b", "1");
  Put("a", "2");
  Delete("b");
  Put("b", "again");
  Reopen();
  EXPECT_EQ(store_->Rev(), 6);
  auto all = Get("", kAllKeys);
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[0].version(), 2);
  EXPECT_EQ(all.kvs[1].create_revision(), 6);
  EXPECT_TRUE(Get("b", "", 5).kvs.empty());
  EXPECT_EQ(Get("b", "", 4).kvs[0].value(), "1");
}

// A snapshot from the leader replaces the backend while readers run: every read sees the
// old store or the new one whole. Reading the new file through the old index failed
// with "indexed revision missing" (new revisions) or, worse, answered "stale" values.
TEST_F(StoreTest, ReplaceBackendIsAtomicForReaders) {
  constexpr int kKeys = 200;
  // Two files to swap in: "a" (one put per key), "b" (a stale put per key, then "b").
  auto make = [&](const std::string& name, const std::vector<std::string>& values) {
    backend::Config config;
    config.dir = dir_.string() + "_" + name;
    std::filesystem::remove_all(config.dir);
    auto backend = backend::Backend::Open(config);
    ASSERT_TRUE(backend.ok());
    auto store = Store::Open(backend->get());
    ASSERT_TRUE(store.ok());
    for (const auto& value : values) {
      for (int k = 0; k < kKeys; ++k) {
        PutRequest put;
        put.key = "k" + std::to_string(k);
        put.value = value;
        ASSERT_TRUE((*store)->Put(put).ok());
      }
    }
    ASSERT_TRUE((*store)->Commit().ok());
    ASSERT_TRUE((*backend)->CopyTo(dir_.string() + "_" + name + ".db").ok());
    store->reset();
    backend->reset();
    std::filesystem::remove_all(config.dir);
  };
  make("a", {"a"});
  make("b", {"stale", "b"});
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<bool> failed{false};
  std::string problem;  // the reader's, read after join
  std::thread reader([&] {
    while (!done.load() && !failed.load()) {
      RangeRequest request;
      request.key = "";
      request.range_end = kAllKeys;
      auto response = store_->Range(request);
      if (!response.ok()) {
        problem = response.status().ToString();
      } else if (!response->kvs.empty()) {
        const std::string& first = response->kvs.front().value();
        for (const auto& kv : response->kvs) {
          if (kv.value() != first || first == "stale") problem = "mixed or stale read: " + kv.value();
        }
      }
      if (!problem.empty()) failed = true;
      ++reads;
    }
  });
  for (int i = 0; i < 40 && !failed.load(); ++i) {
    std::string name = i % 2 == 0 ? "b" : "a";
    std::string copy = dir_.string() + "_swap.db";
    std::filesystem::copy_file(dir_.string() + "_" + name + ".db", copy,
                               std::filesystem::copy_options::overwrite_existing);
    ASSERT_TRUE(store_->ReplaceBackend(copy).ok());
    EXPECT_EQ(Get("k7").kvs.at(0).value(), name);
  }
  done = true;
  reader.join();
  EXPECT_EQ(problem, "");
  EXPECT_GT(reads.load(), 0);
  std::filesystem::remove(dir_.string() + "_a.db");
  std::filesystem::remove(dir_.string() + "_b.db");
}

TEST_F(StoreTest, HashKVSurvivesReopenAndSeesUncommittedWrites) {
  auto empty = store_->HashKV(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->hash, base::crc32c::Extend(0, "key"));
  EXPECT_EQ(empty->compact_revision, -1);
  Put("a", "1");
  Put("b", "2");
  auto before = store_->HashKV(0);
  ASSERT_TRUE(before.ok());
  EXPECT_NE(before->hash, empty->hash);
  EXPECT_EQ(before->revision, 3);
  Reopen();
  auto after = store_->HashKV(0);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->hash, before->hash);
  EXPECT_EQ(store_->HashKV(4).status().message(), "mvcc: required revision is a future revision");
}

TEST_F(StoreTest, HashCoversTheWholeBackendButNotTheConsistentIndex) {
  Put("a", "1");
  auto first = store_->Hash();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->revision, 2);
  ASSERT_TRUE(backend_->SetConsistentIndex(99).ok());
  EXPECT_EQ(store_->Hash()->hash, first->hash);  // differs between members: ignored
  ASSERT_TRUE(backend_->Put(backend::Bucket::kLease, "l", "x").ok());
  EXPECT_NE(store_->Hash()->hash, first->hash);
}

TEST_F(StoreTest, WritesPublishEventsWithPrevKv) {
  std::vector<std::pair<int64_t, std::vector<mvccpb::Event>>> seen;
  Reopen(Store::Options{[&](int64_t rev, std::vector<mvccpb::Event> events) {
    seen.emplace_back(rev, std::move(events));
  }});
  Put("a", "1");
  Put("a", "2");
  Delete("a");
  Delete("a");  // nothing changed: no event
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, 2);
  EXPECT_EQ(seen[0].second[0].type(), mvccpb::Event::PUT);
  EXPECT_FALSE(seen[0].second[0].has_prev_kv());  // a creation has none
  EXPECT_EQ(seen[1].second[0].prev_kv().value(), "1");
  const auto& del = seen[2].second[0];
  EXPECT_EQ(del.type(), mvccpb::Event::DELETE);
  EXPECT_EQ(del.kv().key(), "a");
  EXPECT_EQ(del.kv().mod_revision(), 4);
  EXPECT_EQ(del.kv().version(), 0);
  EXPECT_EQ(del.prev_kv().value(), "2");
}

}  // namespace
}  // namespace etcpp::mvcc
