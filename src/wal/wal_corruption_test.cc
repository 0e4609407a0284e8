// What Open does with damaged logs: a torn tail (the unfinished last write of a crashed
// process or machine) is cut off and the log goes on; anything else is refused with
// the file and offset, leaving every byte on disk as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "wal/testing.h"
#include "wal/wal.h"

namespace etcpp::wal {
namespace {

constexpr Metadata kMetadata{7, 8};
constexpr char kFirstSegment[] = "0000000000000000-0000000000000001.wal";
// The first segment's preamble: header (12 + 24 bytes) and metadata (12 + 16).
constexpr uint64_t kFirstPreambleBytes = 64;

uint64_t EntryRecordBytes(const raftpb::Entry& entry) { return 32 + entry.data().size(); }

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files[e.path().filename()] = ReadBytes(e.path());
  }
  return files;
}

// A log in `dir` with entries 1..10 (one batch, with a hard state) and entry 11 with
// `last_bytes` bytes (alone); returns the offset of entry 11's record.
uint64_t WriteLog(const std::string& dir, size_t last_bytes) {
  auto wal = Wal::Create(dir, kMetadata);
  EXPECT_TRUE(wal.ok());
  std::vector<raftpb::Entry> entries;
  uint64_t offset = kFirstPreambleBytes;
  for (uint64_t i = 1; i <= 10; ++i) {
    entries.push_back(EntryForTesting(i, 1));
    offset += EntryRecordBytes(entries.back());
  }
  raftpb::HardState state;
  state.set_term(1);
  state.set_commit(10);
  EXPECT_TRUE((*wal)->Save(state, entries).ok());
  offset += 12 + 24;
  raftpb::Entry last = EntryForTesting(11, 1);
  last.set_data(std::string(last_bytes, 'x'));
  EXPECT_TRUE((*wal)->Save({}, std::span(&last, 1)).ok());
  return offset;
}

void ExpectReplaysOneToTenThenContinues(const std::string& dir) {
  ReplayResult replay;
  testing::internal::CaptureStderr();
  auto wal = Wal::Open(dir, {}, &replay);
  std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_NE(log.find("repairing torn tail"), std::string::npos) << log;
  ASSERT_EQ(replay.entries.size(), 10u);
  EXPECT_EQ(replay.hard_state.commit(), 10u);
  raftpb::Entry again = EntryForTesting(11, 2);
  ASSERT_TRUE((*wal)->Save({}, std::span(&again, 1)).ok());
  wal->reset();
  auto reopened = Wal::Open(dir, {}, &replay);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_EQ(replay.entries.size(), 11u);
  EXPECT_TRUE(SameEntry(replay.entries[10], again));
}

TEST(WalCorruptionTest, ZeroedEndOfTheLastRecordIsATornWriteAndIsCutOff) {
  TempDirForTesting tmp;
  uint64_t last = WriteLog(tmp.path(), 1000);
  std::string path = tmp.Sub(kFirstSegment);
  std::string bytes = ReadBytes(path);
  std::fill(bytes.begin() + static_cast<long>(last + 500),
            bytes.begin() + static_cast<long>(last + 1032), '\0');
  WriteBytes(path, bytes);
  ExpectReplaysOneToTenThenContinues(tmp.path());
}

TEST(WalCorruptionTest, FileEndingInsideTheLastRecordIsATornWrite) {
  TempDirForTesting tmp;
  uint64_t last = WriteLog(tmp.path(), 1000);
  ASSERT_EQ(::truncate(tmp.Sub(kFirstSegment).c_str(), static_cast<off_t>(last + 20)), 0);
  ExpectReplaysOneToTenThenContinues(tmp.path());
  EXPECT_EQ(std::filesystem::file_size(tmp.Sub(kFirstSegment)), Options().segment_bytes)
      << "the repaired segment is preallocated again";
}

TEST(WalCorruptionTest, LostSectorInsideTheLastRecordIsATornWrite) {
  TempDirForTesting tmp;
  uint64_t last = WriteLog(tmp.path(), 3000);
  std::string path = tmp.Sub(kFirstSegment);
  std::string bytes = ReadBytes(path);
  uint64_t sector = (last + 12 + 511) / 512 * 512;  // first whole sector inside the payload
  std::fill(bytes.begin() + static_cast<long>(sector),
            bytes.begin() + static_cast<long>(sector + 512), '\0');
  WriteBytes(path, bytes);
  ExpectReplaysOneToTenThenContinues(tmp.path());
}

// Flips one byte at `at` in `file` and expects Open to refuse with `file` and
// `record_offset` in the message, changing nothing on disk.
void ExpectRefused(const std::string& dir, const std::string& file, uint64_t at,
                   uint64_t record_offset, Options options = {}) {
  std::string path = dir + "/" + file;
  std::string bytes = ReadBytes(path);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
  WriteBytes(path, bytes);
  auto before = Snapshot(dir);

  ReplayResult replay;
  auto wal = Wal::Open(dir, {}, &replay, options);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), base::Code::kCorruption);
  std::string message = wal.status().message();
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find("at offset " + std::to_string(record_offset) + ":"), std::string::npos)
      << message;
  EXPECT_EQ(Snapshot(dir), before) << "a refused log is left exactly as it was";
}

TEST(WalCorruptionTest, FlippedByteInAnEarlierRecordIsRefused) {
  TempDirForTesting tmp;
  WriteLog(tmp.path(), 1000);
  uint64_t third = kFirstPreambleBytes + EntryRecordBytes(EntryForTesting(1, 1)) +
                   EntryRecordBytes(EntryForTesting(2, 1));
  ExpectRefused(tmp.path(), kFirstSegment, third + 32 + 1, third);
}

TEST(WalCorruptionTest, FlippedLengthOfAnEarlierRecordIsRefused) {
  TempDirForTesting tmp;
  WriteLog(tmp.path(), 1000);
  uint64_t second = kFirstPreambleBytes + EntryRecordBytes(EntryForTesting(1, 1));
  ExpectRefused(tmp.path(), kFirstSegment, second + 6, second);  // length's third byte
}

TEST(WalCorruptionTest, FlippedByteInTheLastSegmentHeaderIsRefused) {
  TempDirForTesting tmp;
  WriteLog(tmp.path(), 10);
  ExpectRefused(tmp.path(), kFirstSegment, 20, 0);
}

TEST(WalCorruptionTest, ZeroedSectorUnderSyncedBatchesIsRefused) {
  // A disk that loses a sector of synced data: it looks like a torn write at first, but
  // whole batches were written (and synced) after it, which a torn write cannot have.
  TempDirForTesting tmp;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata);
    ASSERT_TRUE(wal.ok());
    for (uint64_t i = 1; i <= 40; ++i) {
      raftpb::Entry entry = EntryForTesting(i, 1, 1000);
      ASSERT_TRUE((*wal)->Save({}, std::span(&entry, 1)).ok());
    }
  }
  // Zero the sector holding the header of entry 10's record, so neither entry 9's
  // record (which runs into the sector) nor its successor can be checked.
  uint64_t record = kFirstPreambleBytes;
  for (uint64_t i = 1; i < 10; ++i) record += EntryRecordBytes(EntryForTesting(i, 1, 1000));
  uint64_t sector = record / 512 * 512;
  ASSERT_LE(record + 12, sector + 512);
  std::string path = tmp.Sub(kFirstSegment);
  std::string bytes = ReadBytes(path);
  std::fill(bytes.begin() + static_cast<long>(sector),
            bytes.begin() + static_cast<long>(sector + 512), '\0');
  WriteBytes(path, bytes);
  auto before = Snapshot(tmp.path());
  ReplayResult replay;
  auto wal = Wal::Open(tmp.path(), {}, &replay);
  ASSERT_FALSE(wal.ok()) << "synced entries after the hole would be cut off";
  EXPECT_EQ(wal.status().code(), base::Code::kCorruption);
  EXPECT_NE(wal.status().message().find(kFirstSegment), std::string::npos);
  EXPECT_EQ(Snapshot(tmp.path()), before);
}

TEST(WalCorruptionTest, FlippedByteInAnOlderSegmentIsRefused) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    for (uint64_t i = 1; i <= 100; ++i) {
      raftpb::Entry entry = EntryForTesting(i, 1);
      ASSERT_TRUE((*wal)->Save({}, std::span(&entry, 1)).ok());
    }
    ASSERT_GE((*wal)->SegmentNamesForTesting().size(), 3u);
  }
  // Entry 1 is the first record after the preamble; flip the last byte of its data,
  // which is followed by nothing but zeros in neither this segment nor the log.
  uint64_t end_of_first = kFirstPreambleBytes + EntryRecordBytes(EntryForTesting(1, 1));
  ExpectRefused(tmp.path(), kFirstSegment, end_of_first - 1, kFirstPreambleBytes, options);
}

TEST(WalCorruptionTest, MissingMiddleSegmentIsRefused) {
  TempDirForTesting tmp;
  Options options;
  options.segment_bytes = 4096;
  std::vector<std::string> names;
  {
    auto wal = Wal::Create(tmp.path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    for (uint64_t i = 1; i <= 100; ++i) {
      raftpb::Entry entry = EntryForTesting(i, 1);
      ASSERT_TRUE((*wal)->Save({}, std::span(&entry, 1)).ok());
    }
    names = (*wal)->SegmentNamesForTesting();
  }
  ASSERT_GE(names.size(), 3u);
  std::filesystem::remove(tmp.Sub(names[1]));
  ReplayResult replay;
  auto wal = Wal::Open(tmp.path(), {}, &replay, options);
  EXPECT_EQ(wal.status().code(), base::Code::kCorruption);
  EXPECT_NE(wal.status().message().find("missing"), std::string::npos) << wal.status().message();
}

TEST(WalCorruptionTest, SegmentFromAnotherLogBreaksTheChain) {
  TempDirForTesting a, b;
  Options options;
  options.segment_bytes = 4096;
  std::vector<std::string> names;
  for (const TempDirForTesting* tmp : {&a, &b}) {
    auto wal = Wal::Create(tmp->path(), kMetadata, options);
    ASSERT_TRUE(wal.ok());
    for (uint64_t i = 1; i <= 60; ++i) {
      raftpb::Entry entry = EntryForTesting(i, tmp == &a ? 1 : 2);
      ASSERT_TRUE((*wal)->Save({}, std::span(&entry, 1)).ok());
    }
    names = (*wal)->SegmentNamesForTesting();
  }
  ASSERT_GE(names.size(), 3u);
  // Same names in both (same sizes, same indexes), different contents.
  WriteBytes(a.Sub(names[1]), ReadBytes(b.Sub(names[1])));
  ReplayResult replay;
  auto wal = Wal::Open(a.path(), {}, &replay, options);
  EXPECT_EQ(wal.status().code(), base::Code::kCorruption);
  EXPECT_NE(wal.status().message().find("chain"), std::string::npos) << wal.status().message();
}

}  // namespace
}  // namespace etcpp::wal
