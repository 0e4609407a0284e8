// Wal behaviour on healthy disks: round trips, segment cuts, raft truncation, snapshot
// markers and ReleaseTo. Corruption and torn tails are in wal_corruption_test.cc.
#include "wal/wal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "wal/testing.h"

namespace etcpp::wal {
namespace {

constexpr Metadata kMetadata{0x1234, 0xabcd};

raftpb::HardState State(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

std::vector<raftpb::Entry> Entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = first; i <= last; ++i) entries.push_back(EntryForTesting(i, term));
  return entries;
}

// Replays `dir` and returns the result, failing the test on any error.
ReplayResult Replay(const std::string& dir, SnapshotMarker marker = {}, Options options = {}) {
  ReplayResult replay;
  auto wal = Wal::Open(dir, marker, &replay, options);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  return replay;
}

void ExpectEntries(const ReplayResult& replay, const std::vector<raftpb::Entry>& want) {
  ASSERT_EQ(replay.entries.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(SameEntry(replay.entries[i], want[i])) << "entry " << want[i].index();
  }
}

size_t CountSegments(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().extension() == ".wal";
  }
  return n;
}

TEST(WalTest, CreateThenOpenReturnsMetadataAndNothingElse) {
  TempDirForTesting tmp;
  ASSERT_TRUE(Wal::Create(tmp.Sub("wal"), kMetadata).ok());
  ReplayResult replay = Replay(tmp.Sub("wal"));
  EXPECT_EQ(replay.metadata, kMetadata);
  EXPECT_EQ(replay.hard_state.term(), 0u);
  EXPECT_TRUE(replay.entries.empty());
}

TEST(WalTest, SavedEntriesAndHardStateRoundTrip) {
  TempDirForTesting tmp;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 0), Entries(1, 10, 1)).ok());
    ASSERT_TRUE((*wal)->Save(State(2, 3, 7), Entries(11, 20, 2)).ok());
    ASSERT_TRUE((*wal)->Save(State(2, 3, 9), {}).ok());
  }
  ReplayResult replay = Replay(tmp.path());
  EXPECT_EQ(replay.hard_state.SerializeAsString(), State(2, 3, 9).SerializeAsString());
  std::vector<raftpb::Entry> want = Entries(1, 10, 1);
  for (auto& e : Entries(11, 20, 2)) want.push_back(e);
  ExpectEntries(replay, want);
}

TEST(WalTest, ReopenedLogContinuesWhereItStopped) {
  TempDirForTesting tmp;
  ASSERT_TRUE(Wal::Create(tmp.path(), kMetadata).ok());
  for (uint64_t round = 0; round < 3; ++round) {
    ReplayResult replay;
    auto wal = Wal::Open(tmp.path(), {}, &replay);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    ASSERT_EQ(replay.entries.size(), round * 5);
    ASSERT_TRUE(
        (*wal)->Save(State(1, 0, round * 5), Entries(round * 5 + 1, round * 5 + 5, 1)).ok());
  }
  ExpectEntries(Replay(tmp.path()), Entries(1, 15, 1));
}

TEST(WalTest, CreateRefusesADirectoryThatHoldsALog) {
  TempDirForTesting tmp;
  ASSERT_TRUE(Wal::Create(tmp.path(), kMetadata).ok());
  EXPECT_EQ(Wal::Create(tmp.path(), kMetadata).status().code(), base::Code::kAlreadyExists);
}

TEST(WalTest, SecondOpenIsRefusedWhileTheFirstHoldsTheLock) {
  TempDirForTesting tmp;
  auto first = Wal::Create(tmp.path(), kMetadata);
  ASSERT_TRUE(first.ok());
  ReplayResult replay;
  EXPECT_EQ(Wal::Open(tmp.path(), {}, &replay).status().code(), base::Code::kUnavailable);
}

TEST(WalTest, OpenOfAnEmptyDirectoryIsNotFound) {
  TempDirForTesting tmp;
  ReplayResult replay;
  EXPECT_EQ(Wal::Open(tmp.path(), {}, &replay).status().code(), base::Code::kNotFound);
}

TEST(WalTest, SegmentsAreCutWhenFullAndReplayedInOrder) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    for (uint64_t i = 1; i <= 200; i += 5) {
      ASSERT_TRUE((*wal)->Save(State(1, 1, i - 1), Entries(i, i + 4, 1)).ok());
    }
    EXPECT_GE((*wal)->SegmentNamesForTesting().size(), 5u);
  }
  EXPECT_GE(CountSegments(tmp.path()), 5u);
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    EXPECT_EQ(std::filesystem::file_size(e.path()), 4096u) << "preallocated " << e.path();
  }
  ReplayResult replay = Replay(tmp.path(), {}, options);
  ExpectEntries(replay, Entries(1, 200, 1));
  EXPECT_EQ(replay.hard_state.commit(), 195u);
}

TEST(WalTest, BatchLargerThanASegmentGetsASegmentOfItsOwn) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 0), Entries(1, 2, 1)).ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 2), Entries(3, 60, 1)).ok());  // ~10 KB
    ASSERT_TRUE((*wal)->Save(State(1, 1, 60), Entries(61, 62, 1)).ok());
  }
  ExpectEntries(Replay(tmp.path(), {}, options), Entries(1, 62, 1));
}

TEST(WalTest, LaterEntriesAtAnIndexReplaceItAndEverythingAfter) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 3), Entries(1, 40, 1)).ok());
    // A new leader in term 2 overwrites from index 6: 7..40 of term 1 are gone.
    ASSERT_TRUE((*wal)->Save(State(2, 2, 3), Entries(6, 6, 2)).ok());
    // Again in term 3, after more segments were cut, back to index 4.
    ASSERT_TRUE((*wal)->Save(State(3, 3, 3), Entries(4, 30, 3)).ok());
    ASSERT_TRUE((*wal)->Save(State(3, 3, 3), Entries(31, 32, 3)).ok());
  }
  std::vector<raftpb::Entry> want = Entries(1, 3, 1);
  for (auto& e : Entries(4, 32, 3)) want.push_back(e);
  ExpectEntries(Replay(tmp.path(), {}, options), want);
}

TEST(WalTest, EntriesComeBackFromAfterTheSnapshotMarker) {
  TempDirForTesting tmp;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 10), Entries(1, 10, 1)).ok());
    ASSERT_TRUE((*wal)->SaveSnapshot({5, 1}).ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 12), Entries(11, 12, 1)).ok());
  }
  ExpectEntries(Replay(tmp.path(), {5, 1}), Entries(6, 12, 1));
  ReplayResult replay;
  EXPECT_EQ(Wal::Open(tmp.path(), {7, 1}, &replay).status().code(), base::Code::kNotFound);
  EXPECT_EQ(Wal::Open(tmp.path(), {5, 2}, &replay).status().code(), base::Code::kNotFound);
}

TEST(WalTest, ReleaseToRemovesOnlyCoveredSegments) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(4, 2, 0), {}).ok());  // the only hard state record
    for (uint64_t i = 1; i <= 300; i += 10) {
      ASSERT_TRUE((*wal)->Save({}, Entries(i, i + 9, 4)).ok());
      if (i == 151) {
        ASSERT_TRUE((*wal)->SaveSnapshot({150, 4}).ok());
      }
    }
    size_t before = (*wal)->SegmentNamesForTesting().size();
    ASSERT_TRUE((*wal)->ReleaseTo(150).ok());
    std::vector<std::string> after = (*wal)->SegmentNamesForTesting();
    EXPECT_LT(after.size(), before);
    EXPECT_EQ(CountSegments(tmp.path()), after.size());
    // The oldest kept segment may start at or below 151, never above it.
    EXPECT_LE(std::stoull(after.front().substr(17, 16), nullptr, 16), 151u);
  }
  ReplayResult replay = Replay(tmp.path(), {150, 4}, options);
  EXPECT_EQ(replay.metadata, kMetadata);
  EXPECT_EQ(replay.hard_state.term(), 4u) << "hard state carried in each segment's preamble";
  ExpectEntries(replay, Entries(151, 300, 4));
  {
    auto wal = Wal::Open(tmp.path(), {150, 4}, &replay, options);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->SaveSnapshot({300, 4}).ok());
    ASSERT_TRUE((*wal)->ReleaseTo(1u << 30).ok());
    EXPECT_EQ((*wal)->SegmentNamesForTesting().size(), 1u) << "the last segment stays";
  }
  replay = Replay(tmp.path(), {300, 4}, options);
  EXPECT_EQ(replay.hard_state.term(), 4u);
  EXPECT_TRUE(replay.entries.empty());
}

TEST(WalTest, ReleaseToThenReplayFromTheMarkerKeepsEveryLaterEntry) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 0), Entries(1, 100, 1)).ok());
    ASSERT_TRUE((*wal)->SaveSnapshot({100, 1}).ok());
    for (uint64_t i = 101; i <= 300; i += 4) {
      ASSERT_TRUE((*wal)->Save(State(1, 1, i), Entries(i, i + 3, 1)).ok());
    }
    ASSERT_TRUE((*wal)->ReleaseTo(100).ok());
  }
  ReplayResult replay = Replay(tmp.path(), {100, 1}, options);
  ExpectEntries(replay, Entries(101, 300, 1));
}

TEST(WalTest, ReleaseToKeepsASegmentUntilItsLastEntryIsCovered) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  auto wal = Wal::Create(tmp.path(), kMetadata, options);
  ASSERT_TRUE(wal.ok());
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE((*wal)->Save({}, Entries(i, i, 1)).ok());
  std::vector<std::string> names = (*wal)->SegmentNamesForTesting();
  ASSERT_GE(names.size(), 3u);
  // The second segment starts at index `next`: the first one ends with entry next - 1.
  uint64_t next = std::stoull(names[1].substr(17, 16), nullptr, 16);
  ASSERT_TRUE((*wal)->ReleaseTo(next - 2).ok());
  EXPECT_EQ((*wal)->SegmentNamesForTesting(), names) << "entry " << next - 1 << " not covered";
  ASSERT_TRUE((*wal)->ReleaseTo(next - 1).ok());
  names.erase(names.begin());
  EXPECT_EQ((*wal)->SegmentNamesForTesting(), names);
  EXPECT_EQ(CountSegments(tmp.path()), names.size());
}

TEST(WalTest, LeftoverOfAnInterruptedCutIsRemovedOnOpen) {
  TempDirForTesting tmp;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Save(State(1, 1, 0), Entries(1, 3, 1)).ok());
  }
  std::string temp = tmp.Sub("0000000000000001-0000000000000004.wal.tmp");
  std::ofstream(temp) << "half a preamble";
  ExpectEntries(Replay(tmp.path()), Entries(1, 3, 1));
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_EQ(CountSegments(tmp.path()), 1u);
}

TEST(WalTest, EmptySaveWritesNothing) {
  TempDirForTesting tmp;
  auto wal = Wal::Create(tmp.path(), kMetadata);
  ASSERT_TRUE(wal.ok());
  ASSERT_TRUE((*wal)->Save({}, {}).ok());
  wal->reset();
  EXPECT_TRUE(Replay(tmp.path()).entries.empty());
}

TEST(WalTest, OptionsRejectTinySegments) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 100;
  EXPECT_EQ(Wal::Create(tmp.path(), kMetadata, options).status().code(),
            base::Code::kInvalidArgument);
}

}  // namespace
}  // namespace etcpp::wal
