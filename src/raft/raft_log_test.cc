// The unstable tail and RaftLog: appends, conflicts, backtracking, commit rules.
#include "raft/raft_log.h"

#include <gtest/gtest.h>

namespace etcpp::raft {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

std::vector<raftpb::Entry> Terms(uint64_t first, std::vector<uint64_t> terms) {
  std::vector<raftpb::Entry> out;
  for (uint64_t t : terms) out.push_back(E(first++, t));
  return out;
}

TEST(Unstable, StableToDropsOnlyEntriesStillHandedOut) {
  Unstable u(5);
  u.TruncateAndAppend(Terms(5, {1, 1, 1}));
  u.TruncateAndAppend(Terms(7, {2}));  // replaces index 7
  u.StableTo(7, 1);                    // stale: index 7 now has term 2
  EXPECT_EQ(u.offset(), 5u);
  u.StableTo(6, 1);
  EXPECT_EQ(u.offset(), 7u);
  EXPECT_EQ(*u.MaybeLastIndex(), 7u);
  EXPECT_EQ(*u.MaybeTerm(7), 2u);
}

TEST(RaftLog, AppendAcrossStorageAndUnstableAndSlice) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(Terms(1, {1, 1, 2})).ok());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_EQ(log.LastIndex(), 3u);
  log.Append(Terms(4, {3, 3}));
  EXPECT_EQ(log.LastIndex(), 5u);
  EXPECT_EQ(log.LastTerm(), 3u);
  base::Result<std::vector<raftpb::Entry>> all = log.Slice(2, 6, UINT64_MAX);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].index(), 2u);
  EXPECT_EQ((*all)[3].index(), 5u);
  EXPECT_EQ(log.Slice(2, 6, 1)->size(), 1u);
}

TEST(RaftLog, MaybeAppendTruncatesConflictsAndCapsCommit) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(Terms(1, {1, 2, 2, 2})).ok());
  RaftLog log(&s, UINT64_MAX);
  // Mismatch at the previous entry: nothing happens.
  EXPECT_FALSE(log.MaybeAppend(2, 1, 4, Terms(3, {3})).has_value());
  // Match at 2: entries 3.. of term 3 replace our term-2 suffix; commit is capped at
  // the last new entry even though the leader says 9.
  std::optional<uint64_t> last = log.MaybeAppend(2, 2, 9, Terms(3, {3}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 3u);
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(log.committed(), 3u);
  // A duplicate of what we hold changes nothing.
  EXPECT_EQ(*log.MaybeAppend(1, 1, 3, Terms(2, {2})), 2u);
  EXPECT_EQ(log.LastIndex(), 3u);
}

TEST(RaftLog, ADelayedDuplicateAppendNeverShortensTheLog) {
  MemoryStorage s;
  RaftLog log(&s, UINT64_MAX);
  ASSERT_TRUE(log.MaybeAppend(0, 0, 0, Terms(1, {1, 1, 1, 1})).has_value());
  // An older append (entries 1..2) arrives after the newer one: it matches what we
  // hold, so entries 3..4 stay.
  EXPECT_EQ(*log.MaybeAppend(0, 0, 2, Terms(1, {1, 1})), 2u);
  EXPECT_EQ(log.LastIndex(), 4u);
  EXPECT_EQ(log.committed(), 2u);
}

TEST(RaftLog, FindConflictByTermSkipsAWholeTerm) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(Terms(1, {1, 1, 4, 4, 4, 4, 4})).ok());
  RaftLog log(&s, UINT64_MAX);
  // The leader has term 2 at index 7: all our term-4 entries are useless to it.
  EXPECT_EQ(log.FindConflictByTerm(7, 2), std::make_pair(uint64_t{2}, uint64_t{1}));
  EXPECT_EQ(log.FindConflictByTerm(7, 4), std::make_pair(uint64_t{7}, uint64_t{4}));
  EXPECT_EQ(log.FindConflictByTerm(7, 0), std::make_pair(uint64_t{0}, uint64_t{0}));
}

TEST(RaftLog, IsUpToDateComparesLastTermThenLength) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(Terms(1, {1, 2, 2})).ok());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_TRUE(log.IsUpToDate(1, 3));   // higher last term wins even if shorter
  EXPECT_TRUE(log.IsUpToDate(3, 2));   // same term, same length
  EXPECT_FALSE(log.IsUpToDate(2, 2));  // same term, shorter
  EXPECT_FALSE(log.IsUpToDate(9, 1));  // lower last term loses even if longer
}

TEST(RaftLog, LeaderCommitsOnlyEntriesOfItsOwnTerm) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(Terms(1, {1, 2, 3})).ok());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_FALSE(log.MaybeCommit(2, 3, false));
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.MaybeCommit(2, 3, true)) << "the planted bug commits by replica count";
  EXPECT_TRUE(log.MaybeCommit(3, 3, false));
  EXPECT_EQ(log.committed(), 3u);
}

TEST(RaftLog, CommittedEntriesWaitForAPendingSnapshot) {
  MemoryStorage s;
  RaftLog log(&s, UINT64_MAX);
  log.Append(Terms(1, {1, 1}));
  log.CommitTo(2);
  EXPECT_EQ(log.NextCommittedEntries().size(), 2u);
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(5);
  snap.mutable_metadata()->set_term(2);
  log.Restore(snap);
  EXPECT_FALSE(log.HasNextCommittedEntries());
  EXPECT_EQ(log.FirstIndex(), 6u);
  EXPECT_EQ(*log.Term(5), 2u);
  EXPECT_EQ(log.committed(), 5u);
}

}  // namespace
}  // namespace etcpp::raft
