// KeyIndex and TreeIndex rules, including the worked example of key_index.h.
#include "storage/mvcc/key_index.h"

#include <gtest/gtest.h>

#include "storage/mvcc/tree_index.h"

namespace etcpp::mvcc {
namespace {

// put 1, put 2, delete 3, put 4, put 5 (the worked example).
KeyIndex::Ptr Example() {
  auto index = KeyIndex::New("foo");
  index->Put({1, 0});
  index->Put({2, 0});
  EXPECT_TRUE(index->Tombstone({3, 0}));
  index->Put({4, 0});
  index->Put({5, 0});
  return index;
}

TEST(KeyIndexTest, GetFollowsGenerations) {
  auto index = Example();
  EXPECT_EQ(index->key(), "foo");
  EXPECT_FALSE(index->Get(0).has_value());
  auto at2 = index->Get(2);
  ASSERT_TRUE(at2.has_value());
  EXPECT_EQ(at2->modified, (Revision{2, 0}));
  EXPECT_EQ(at2->created, 1);
  EXPECT_EQ(at2->version, 2);
  auto at1 = index->Get(1);
  ASSERT_TRUE(at1.has_value());
  EXPECT_EQ(at1->version, 1);
  EXPECT_FALSE(index->Get(3).has_value());  // deleted at 3
  auto at5 = index->Get(100);
  ASSERT_TRUE(at5.has_value());
  EXPECT_EQ(at5->modified, (Revision{5, 0}));
  EXPECT_EQ(at5->created, 4);
  EXPECT_EQ(at5->version, 2);
  EXPECT_TRUE(index->Tombstone({6, 0}));
  EXPECT_FALSE(index->Get(6).has_value());
  EXPECT_FALSE(index->Tombstone({7, 0}));  // not live: nothing to delete
}

TEST(KeyIndexTest, CompactKeepsWhatReadsAtTheRevisionNeed) {
  auto index = Example();
  absl::flat_hash_set<Revision> available;
  EXPECT_FALSE(index->Compact(2, &available));
  EXPECT_EQ(available, (absl::flat_hash_set<Revision>{{2, 0}}));
  EXPECT_EQ(index->Get(2)->version, 2);  // version survives compaction
  EXPECT_FALSE(index->Get(1).has_value());

  available.clear();
  EXPECT_FALSE(index->Compact(3, &available));  // first generation reduced to its tombstone
  EXPECT_EQ(available, (absl::flat_hash_set<Revision>{{3, 0}}));
  EXPECT_FALSE(index->Get(2).has_value());
  EXPECT_FALSE(index->Get(3).has_value());
  EXPECT_EQ(index->Get(5)->created, 4);

  available.clear();
  EXPECT_FALSE(index->Compact(4, &available));
  EXPECT_EQ(available, (absl::flat_hash_set<Revision>{{4, 0}}));
  EXPECT_TRUE(index->Tombstone({6, 0}));
  available.clear();
  EXPECT_FALSE(index->Compact(6, &available));  // the tombstone at 6 stays (etcd >= 3.5.16)
  EXPECT_EQ(available, (absl::flat_hash_set<Revision>{{6, 0}}));
  EXPECT_FALSE(index->Get(6).has_value());
  available.clear();
  EXPECT_TRUE(index->Compact(7, &available));  // everything is history now
  EXPECT_TRUE(available.empty());
}

TEST(KeyIndexTest, KeepIsCompactWithoutTheKeptTombstoneAndChangesNothing) {
  for (int64_t at = 0; at <= 7; ++at) {
    auto index = Example();
    ASSERT_TRUE(index->Tombstone({6, 0}));
    absl::flat_hash_set<Revision> kept, compacted;
    index->Keep(at, &kept);
    EXPECT_EQ(index->Get(2)->modified, (Revision{2, 0}));  // unchanged
    index->Compact(at, &compacted);
    compacted.erase(Revision{3, 0});  // the two tombstones
    compacted.erase(Revision{6, 0});
    EXPECT_EQ(kept, compacted) << "at " << at;
  }
}

TEST(KeyIndexTest, RestoreTombstoneIsNeverLive) {
  auto index = KeyIndex::New("k");
  index->RestoreTombstone({5, 0});
  EXPECT_FALSE(index->Get(4).has_value());
  EXPECT_FALSE(index->Get(5).has_value());
  EXPECT_FALSE(index->Tombstone({6, 0}));
  index->Put({7, 0});
  EXPECT_EQ(index->Get(7)->version, 1);
  EXPECT_EQ(index->Get(7)->created, 7);
}

TEST(KeyIndexTest, RestoreStartsFromACompactedRecord) {
  auto index = KeyIndex::New("k");
  index->Restore(3, {7, 1}, 4);
  auto found = index->Get(7);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->created, 3);
  EXPECT_EQ(found->version, 4);
  index->Put({9, 0});
  EXPECT_EQ(index->Get(9)->version, 5);
  EXPECT_FALSE(index->Get(6).has_value());
}

TEST(TreeIndexTest, RangesCountAndLimit) {
  TreeIndex tree;
  tree.Put("a", {2, 0});
  tree.Put("b", {3, 0});
  tree.Put("c", {4, 0});
  tree.Put("d", {5, 0});
  ASSERT_TRUE(tree.Tombstone("c", {6, 0}));
  auto [revs, total] = tree.Revisions(KeyRange::From("a", "d"), 6, 1);
  EXPECT_EQ(total, 2);  // a, b (c is deleted at 6; d is outside)
  EXPECT_EQ(revs, (std::vector<Revision>{{2, 0}}));
  EXPECT_EQ(tree.CountRevisions(KeyRange::From("a", "d"), 5), 3);
  EXPECT_EQ(tree.CountRevisions(KeyRange::From("b", std::string_view("\0", 1)), 6), 2);
  EXPECT_EQ(tree.CountRevisions(KeyRange::From("c", ""), 5), 1);
  EXPECT_EQ(tree.CountRevisions(KeyRange::From("c", ""), 6), 0);
  EXPECT_EQ(tree.Keys(KeyRange::From("", std::string_view("\0", 1)), 6),
            (std::vector<std::string>{"a", "b", "d"}));
  auto keep = tree.Compact(6);
  EXPECT_EQ(tree.size(), 4u);  // c's tombstone at exactly 6 stays
  EXPECT_EQ(keep.size(), 4u);
  EXPECT_EQ(tree.Keep(6).size(), 3u);  // ... but is not part of the hash
  tree.Compact(7);
  EXPECT_EQ(tree.size(), 3u);  // c is gone
}

}  // namespace
}  // namespace etcpp::mvcc
