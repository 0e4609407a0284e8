// MemoryStorage: index space, byte limits, appends, compaction, snapshots.
#include "raft/storage.h"

#include <gtest/gtest.h>

namespace etcpp::raft {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term, std::string data = "") {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

MemoryStorage WithEntries(uint64_t first, uint64_t last, uint64_t term) {
  MemoryStorage s;
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = first; i <= last; ++i) entries.push_back(E(i, term));
  EXPECT_TRUE(s.Append(entries).ok());
  return s;
}

TEST(MemoryStorage, EmptyStorageStartsAtIndexOne) {
  MemoryStorage s;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 0u);
  EXPECT_EQ(*s.Term(0), 0u);
  EXPECT_EQ(s.Term(1).status().code(), base::Code::kNotFound);
}

TEST(MemoryStorage, EntriesAreBoundedByBytesButNeverEmpty) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append({E(1, 1, std::string(100, 'a')), E(2, 1, std::string(100, 'b')),
                        E(3, 1, std::string(100, 'c'))})
                  .ok());
  EXPECT_EQ(s.Entries(1, 4, UINT64_MAX)->size(), 3u);
  EXPECT_EQ(s.Entries(1, 4, 1)->size(), 1u);
  const uint64_t two = EntryBytes(E(1, 1, std::string(100, 'a'))) * 2;
  EXPECT_EQ(s.Entries(1, 4, two)->size(), 2u);
  EXPECT_EQ(s.Entries(2, 5, UINT64_MAX).status().code(), base::Code::kNotFound);
}

TEST(MemoryStorage, AppendReplacesTheOverlappingSuffix) {
  MemoryStorage s = WithEntries(1, 5, 1);
  ASSERT_TRUE(s.Append({E(4, 2), E(5, 2), E(6, 2)}).ok());
  EXPECT_EQ(s.LastIndex(), 6u);
  EXPECT_EQ(*s.Term(3), 1u);
  EXPECT_EQ(*s.Term(4), 2u);
  ASSERT_TRUE(s.Append({E(3, 3)}).ok());
  EXPECT_EQ(s.LastIndex(), 3u);
  EXPECT_FALSE(s.Append({E(5, 3)}).ok()) << "a gap after the last index must be refused";
}

TEST(MemoryStorage, CompactKeepsTheTermOfTheSnapshotPoint) {
  MemoryStorage s = WithEntries(1, 5, 1);
  ASSERT_TRUE(s.Append({E(6, 2), E(7, 2)}).ok());
  ASSERT_TRUE(s.Compact(6).ok());
  EXPECT_EQ(s.FirstIndex(), 7u);
  EXPECT_EQ(s.LastIndex(), 7u);
  EXPECT_EQ(*s.Term(6), 2u);
  EXPECT_TRUE(IsCompacted(s.Term(5).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(6, 7, UINT64_MAX).status()));
  EXPECT_TRUE(IsCompacted(s.Compact(6)));
  // Entries already below the compaction point are skipped, the rest appended.
  ASSERT_TRUE(s.Append({E(5, 1), E(6, 2), E(7, 2), E(8, 2)}).ok());
  EXPECT_EQ(s.LastIndex(), 8u);
}

TEST(MemoryStorage, SnapshotsReplaceTheLogAndMustMoveForward) {
  MemoryStorage s = WithEntries(1, 5, 1);
  raftpb::ConfState cs;
  cs.add_voters(1);
  base::Result<raftpb::Snapshot> snap = s.CreateSnapshot(4, cs, "state");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().index(), 4u);
  EXPECT_EQ(snap->metadata().term(), 1u);
  EXPECT_FALSE(s.CreateSnapshot(3, cs, "old").ok());
  EXPECT_EQ(s.GetInitialState()->conf_state.voters_size(), 1);

  MemoryStorage other;
  raftpb::Snapshot incoming = *snap;
  incoming.mutable_metadata()->set_index(10);
  incoming.mutable_metadata()->set_term(3);
  ASSERT_TRUE(other.ApplySnapshot(incoming).ok());
  EXPECT_EQ(other.FirstIndex(), 11u);
  EXPECT_EQ(other.LastIndex(), 10u);
  EXPECT_EQ(*other.Term(10), 3u);
  EXPECT_FALSE(other.ApplySnapshot(*snap).ok()) << "an older snapshot must be refused";
}

}  // namespace
}  // namespace etcpp::raft
