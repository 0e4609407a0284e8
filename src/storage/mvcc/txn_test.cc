// Txn semantics (etcd v3.5 apply.go) and the overlay that lets other threads read
// writes the backend has not committed yet.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "storage/mvcc/test_util.h"

namespace etcpp::mvcc {
namespace {

using testing::kAllKeys;

class TxnTest : public testing::StoreFixture {};

Compare Cmp(Compare::Target target, Compare::Result result, std::string key, int64_t number,
            std::string value = "", std::string range_end = "") {
  Compare c;
  c.target = target;
  c.result = result;
  c.key = std::move(key);
  c.number = number;
  c.value = std::move(value);
  c.range_end = std::move(range_end);
  return c;
}
RequestOp PutOp(std::string key, std::string value) {
  PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  return RequestOp{std::move(p)};
}
RequestOp GetOp(std::string key, int64_t revision = 0) {
  RangeRequest r;
  r.key = std::move(key);
  r.revision = revision;
  return RequestOp{std::move(r)};
}
RequestOp DeleteOp(std::string key) {
  DeleteRangeRequest d;
  d.key = std::move(key);
  return RequestOp{std::move(d)};
}

bool Succeeds(Store& store, Compare c) {
  TxnRequest txn;
  txn.compare.push_back(std::move(c));
  auto r = store.Txn(txn);
  EXPECT_TRUE(r.ok());
  return r.ok() && r->succeeded;
}

using T = Compare::Target;
using R = Compare::Result;

TEST_F(TxnTest, ComparesOnMissingKeysUseZeroButValueAlwaysFails) {
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kVersion, R::kEqual, "missing", 0)));
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kCreate, R::kEqual, "missing", 0)));
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kMod, R::kLess, "missing", 1)));
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kLease, R::kEqual, "missing", 0)));
  EXPECT_FALSE(Succeeds(*store_, Cmp(T::kVersion, R::kGreater, "missing", 0)));
  EXPECT_FALSE(Succeeds(*store_, Cmp(T::kValue, R::kEqual, "missing", 0, "")));
  EXPECT_FALSE(Succeeds(*store_, Cmp(T::kValue, R::kNotEqual, "missing", 0, "x")));
}

TEST_F(TxnTest, ComparesCoverEveryKeyOfARange) {
  Put("a", "1");
  Put("b", "2");
  Put("c", "3");
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kValue, R::kLess, "a", 0, "4", "d")));
  EXPECT_FALSE(Succeeds(*store_, Cmp(T::kValue, R::kLess, "a", 0, "3", "d")));
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kVersion, R::kEqual, "a", 1, "", kAllKeys)));
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kMod, R::kGreater, "b", 2, "", "z")));
  EXPECT_FALSE(Succeeds(*store_, Cmp(T::kMod, R::kGreater, "a", 2, "", "z")));
  // No key in [x, z): the compare runs once against zeros, and 0 != 5.
  EXPECT_TRUE(Succeeds(*store_, Cmp(T::kCreate, R::kNotEqual, "x", 5, "", "z")));
}

TEST_F(TxnTest, WritesShareOneRevisionWithIncreasingSubs) {
  Put("c", "old");  // 2
  TxnRequest txn;
  txn.success = {PutOp("a", "1"), PutOp("b", "1"), DeleteOp("c"), GetOp("a"), PutOp("a", "2")};
  auto r = store_->Txn(txn);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded);  // no compares: success
  EXPECT_EQ(r->revision, 3);
  ASSERT_EQ(r->responses.size(), 5u);
  EXPECT_EQ(std::get<PutResponse>(r->responses[0].response).revision, 3);
  EXPECT_EQ(std::get<DeleteRangeResponse>(r->responses[2].response).deleted, 1);
  const auto& read = std::get<RangeResponse>(r->responses[3].response);
  EXPECT_EQ(read.revision, 3);  // reads inside see the txn's own writes
  ASSERT_EQ(read.kvs.size(), 1u);
  EXPECT_EQ(read.kvs[0].value(), "1");
  auto a = Get("a").kvs.at(0);
  EXPECT_EQ(a.mod_revision(), 3);
  EXPECT_EQ(a.version(), 2);  // two puts in one txn count twice
  EXPECT_EQ(a.create_revision(), 3);

  ASSERT_TRUE(store_->Commit().ok());
  auto snapshot = backend_->Read();
  ASSERT_TRUE(snapshot.ok());
  std::vector<std::string> records;
  ASSERT_TRUE(snapshot->ForEach(backend::Bucket::kKey, BucketKey({3, 0}, false), "",
                                [&](std::string_view k, std::string_view) {
                                  DecodedBucketKey d;
                                  EXPECT_TRUE(DecodeBucketKey(k, &d));
                                  records.push_back(std::to_string(d.revision.main) + "_" +
                                                    std::to_string(d.revision.sub) +
                                                    (d.tombstone ? "t" : ""));
                                  return true;
                                }).ok());
  EXPECT_EQ(records, (std::vector<std::string>{"3_0", "3_1", "3_2t", "3_3"}));
}

TEST_F(TxnTest, FailureBranchAndReadOnlyRevision) {
  Put("a", "1");
  TxnRequest txn;
  txn.compare = {Cmp(T::kValue, R::kEqual, "a", 0, "2")};
  txn.success = {PutOp("s", "1")};
  txn.failure = {GetOp("a")};
  auto r = store_->Txn(txn);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->revision, 2);  // nothing written
  EXPECT_EQ(std::get<RangeResponse>(r->responses[0].response).kvs[0].value(), "1");
  EXPECT_TRUE(Get("s").kvs.empty());
  EXPECT_EQ(store_->Rev(), 2);
}

TEST_F(TxnTest, PutChecksUseTheStateBeforeTheTxn) {
  TxnRequest txn;
  PutRequest keep;
  keep.key = "k";
  keep.ignore_value = true;
  txn.success = {PutOp("k", "1"), RequestOp{keep}};
  auto r = store_->Txn(txn);
  EXPECT_EQ(r.status().message(), "etcdserver: key not found");
  EXPECT_TRUE(Get("k").kvs.empty());  // nothing of the txn was applied
  EXPECT_EQ(store_->Rev(), 1);

  Put("k", "0");
  r = store_->Txn(txn);
  ASSERT_TRUE(r.ok());
  auto k = Get("k").kvs.at(0);
  EXPECT_EQ(k.value(), "1");  // the ignore_value put took the value the txn just wrote
  EXPECT_EQ(k.version(), 3);
}

TEST_F(TxnTest, RangeRevisionsAreCheckedBeforeAnyWrite) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  TxnRequest txn;
  txn.success = {PutOp("b", "1"), GetOp("a", 4)};  // 4 would exist only after this txn
  EXPECT_EQ(store_->Txn(txn).status().message(), "mvcc: required revision is a future revision");
  EXPECT_EQ(store_->Rev(), 3);
  ASSERT_TRUE(store_->Compact(3).ok());
  txn.success = {PutOp("b", "1"), GetOp("a", 2)};
  EXPECT_EQ(store_->Txn(txn).status().message(), "mvcc: required revision has been compacted");
  // etcd quirk: a negative revision in a txn is "compacted", while a plain range reads
  // the current revision.
  txn.success = {GetOp("a", -1)};
  EXPECT_EQ(store_->Txn(txn).status().message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(Get("a", "", -1).kvs.at(0).value(), "2");
}

TEST_F(TxnTest, NestedComparesSeeTheStateBeforeTheOuterTxn) {
  Put("a", "1");
  TxnRequest inner;
  inner.compare = {Cmp(T::kValue, R::kEqual, "a", 0, "1")};
  inner.success = {PutOp("b", "inner-success")};
  inner.failure = {PutOp("b", "inner-failure")};
  TxnRequest outer;
  outer.success = {PutOp("a", "2"), RequestOp{inner}, GetOp("b")};
  auto r = store_->Txn(outer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 3);
  const auto& nested = std::get<TxnResponse>(r->responses[1].response);
  EXPECT_TRUE(nested.succeeded);
  EXPECT_EQ(nested.revision, 0);  // etcd leaves nested headers empty
  EXPECT_EQ(std::get<PutResponse>(nested.responses.at(0).response).revision, 3);
  EXPECT_EQ(Get("b").kvs.at(0).value(), "inner-success");
  EXPECT_EQ(std::get<RangeResponse>(r->responses[2].response).kvs.at(0).value(), "inner-success");
}

// Other threads must see every acknowledged write at once, although the backend commits
// only every N operations: they read uncommitted revisions from the overlay.
TEST_F(TxnTest, OtherThreadsSeeUncommittedWritesImmediately) {
  std::atomic<int64_t> acknowledged{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  auto reader = [&] {
    while (!stop) {
      int64_t floor = acknowledged.load();
      auto got = Get("counter");
      if (floor > 0) {
        ASSERT_EQ(got.kvs.size(), 1u);
        ASSERT_GE(std::stoll(got.kvs[0].value()), floor);
      }
      ++reads;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int64_t i = 1; i <= 3000; ++i) {
    Put("counter", std::to_string(i));
    acknowledged = i;
    if (i % 700 == 0) {
      ASSERT_TRUE(store_->Commit().ok());
    }
  }
  stop = true;
  r1.join();
  r2.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(Get("counter").kvs.at(0).value(), "3000");
}

// Readers on other threads, racing with writes and batch commits, must each see exactly
// the state at the revision they report: every (revision, answer) they record must
// equal a read at that revision afterwards (no compaction, so all history is there).
TEST_F(TxnTest, ConcurrentReadsSeeExactlyTheStateAtTheirRevision) {
  std::atomic<bool> stop{false};
  auto describe = [](const RangeResponse& r) {
    std::string s;
    for (const auto& kv : r.kvs) s += kv.ShortDebugString() + ";";
    return s;
  };
  std::vector<std::vector<std::pair<int64_t, std::string>>> seen(2);
  auto reader = [&](int id) {
    while (!stop) {
      auto all = Get("", kAllKeys);
      seen[id].emplace_back(all.revision, describe(all));
    }
  };
  std::thread r0(reader, 0), r1(reader, 1);
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string key(1, static_cast<char>('a' + rng() % 8));
    if (rng() % 4 == 0) {
      Delete(key);
    } else {
      Put(key, std::to_string(i));
    }
    if (rng() % 50 == 0) {
      ASSERT_TRUE(store_->Commit().ok());
    }
  }
  stop = true;
  r0.join();
  r1.join();
  size_t checked = 0;
  for (const auto& reads : seen) {
    for (const auto& [revision, answer] : reads) {
      ASSERT_EQ(describe(Get("", kAllKeys, revision)), answer) << "at revision " << revision;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

// Defragmentation swaps the backend file under the store: the index refers to revisions,
// not to LMDB handles, so reads and writes carry on, with readers running throughout.
TEST_F(TxnTest, StoreKeepsWorkingAcrossDefragmentation) {
  for (int i = 0; i < 2000; ++i) Put("k" + std::to_string(i % 200), std::string(500, 'a' + i % 26));
  ASSERT_TRUE(store_->Compact(store_->Rev()).ok());
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto all = Get("k", "l");
      ASSERT_EQ(all.kvs.size(), 200u);
    }
  });
  auto reclaimed = backend_->Defragment();
  stop = true;
  reader.join();
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status().ToString();
  EXPECT_GT(*reclaimed, 0);
  EXPECT_EQ(Get("k199").kvs.at(0).version(), 10);
  EXPECT_EQ(Put("after", "defrag"), 2002);
  Reopen();
  EXPECT_EQ(Get("after").kvs.at(0).value(), "defrag");
  EXPECT_EQ(store_->CompactRev(), 2001);
}

}  // namespace
}  // namespace etcpp::mvcc
