// Record framing: every record type round-trips, the chain ties records to their
// predecessor, and no single-byte change to a record goes unnoticed.
#include "wal/record.h"

#include <gtest/gtest.h>

#include <string>

namespace etcpp::wal {
namespace {

raftpb::Entry MakeEntry(uint64_t index, uint64_t term, std::string data) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_type(raftpb::ENTRY_CONF_CHANGE);
  entry.set_data(std::move(data));
  return entry;
}

TEST(RecordTest, EveryTypeRoundTrips) {
  std::string buffer;
  uint32_t crc = 7;
  AppendSegmentHeader(&buffer, SegmentHeader{3, 7}, &crc);
  AppendMetadata(&buffer, Metadata{11, 12}, &crc);
  raftpb::HardState state;
  state.set_term(5);
  state.set_vote(2);
  state.set_commit(99);
  AppendHardState(&buffer, state, &crc);
  AppendEntry(&buffer, MakeEntry(100, 5, std::string("a\0b", 3)), &crc);
  AppendSnapshot(&buffer, SnapshotMarker{90, 4}, &crc);

  std::string_view rest = buffer;
  uint32_t chain = 7;
  std::vector<DecodedRecord> records;
  while (!rest.empty()) {
    DecodedRecord record = DecodeRecord(rest, chain);
    ASSERT_EQ(record.status, DecodeStatus::kOk);
    records.push_back(record);
    chain = record.crc;
    rest.remove_prefix(record.extent);
  }
  EXPECT_EQ(chain, crc);
  ASSERT_EQ(records.size(), 5u);

  SegmentHeader header;
  ASSERT_TRUE(DecodeSegmentHeader(records[0].payload, &header));
  EXPECT_EQ(header.sequence, 3u);
  EXPECT_EQ(header.previous_crc, 7u);
  EXPECT_EQ(SegmentHeaderSeed(buffer), 7u);
  Metadata metadata;
  ASSERT_TRUE(DecodeMetadata(records[1].payload, &metadata));
  EXPECT_EQ(metadata, (Metadata{11, 12}));
  raftpb::HardState decoded_state;
  ASSERT_TRUE(DecodeHardState(records[2].payload, &decoded_state));
  EXPECT_EQ(decoded_state.SerializeAsString(), state.SerializeAsString());
  raftpb::Entry entry;
  ASSERT_TRUE(DecodeEntry(records[3].payload, &entry));
  EXPECT_EQ(entry.SerializeAsString(),
            MakeEntry(100, 5, std::string("a\0b", 3)).SerializeAsString());
  SnapshotMarker marker;
  ASSERT_TRUE(DecodeSnapshot(records[4].payload, &marker));
  EXPECT_EQ(marker, (SnapshotMarker{90, 4}));
}

TEST(RecordTest, RecordOnlyVerifiesAfterItsOwnPredecessor) {
  std::string buffer;
  uint32_t crc = 0;
  AppendMetadata(&buffer, Metadata{1, 2}, &crc);
  uint32_t after_first = crc;
  AppendMetadata(&buffer, Metadata{1, 2}, &crc);
  std::string_view second = std::string_view(buffer).substr(buffer.size() / 2);
  EXPECT_EQ(DecodeRecord(second, after_first).status, DecodeStatus::kOk);
  EXPECT_EQ(DecodeRecord(second, 0).status, DecodeStatus::kBadCrc);
}

TEST(RecordTest, EverySingleByteChangeIsDetected) {
  std::string buffer;
  uint32_t crc = 0;
  AppendEntry(&buffer, MakeEntry(1, 1, "payload bytes"), &crc);
  for (size_t i = 0; i < buffer.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = buffer;
      changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
      EXPECT_NE(DecodeRecord(changed, 0).status, DecodeStatus::kOk) << "byte " << i;
    }
  }
}

TEST(RecordTest, WriteEncoderFlagsOnlyTheLastRecordOfAWrite) {
  std::string buffer;
  WriteEncoder encoder(&buffer, 5);
  encoder.Add(AppendEntry, MakeEntry(1, 1, "a"));
  encoder.Add(AppendEntry, MakeEntry(2, 1, "b"));
  encoder.Add(AppendSnapshot, SnapshotMarker{2, 1});
  uint32_t crc_after = encoder.Finish();

  std::string_view rest = buffer;
  uint32_t chain = 5;
  std::vector<bool> write_ends;
  while (!rest.empty()) {
    DecodedRecord record = DecodeRecord(rest, chain);
    ASSERT_EQ(record.status, DecodeStatus::kOk);
    write_ends.push_back(record.write_end);
    chain = record.crc;
    rest.remove_prefix(record.extent);
  }
  EXPECT_EQ(write_ends, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(chain, crc_after);

  std::string unknown_flag = buffer;
  unknown_flag[9] = 2;
  EXPECT_EQ(DecodeRecord(unknown_flag, 5).status, DecodeStatus::kBadType);
}

TEST(RecordTest, MalformedFramesAreClassified) {
  std::string buffer;
  uint32_t crc = 0;
  AppendMetadata(&buffer, Metadata{1, 2}, &crc);

  EXPECT_EQ(DecodeRecord(std::string(kRecordHeaderBytes, '\0'), 0).status,
            DecodeStatus::kZeroHeader);
  EXPECT_EQ(DecodeRecord(std::string_view(buffer).substr(0, 5), 0).status,
            DecodeStatus::kTruncatedHeader);
  EXPECT_EQ(DecodeRecord(std::string_view(buffer).substr(0, buffer.size() - 1), 0).status,
            DecodeStatus::kBadLength);
  std::string bad_type = buffer;
  bad_type[8] = 9;
  EXPECT_EQ(DecodeRecord(bad_type, 0).status, DecodeStatus::kBadType);
  std::string reserved = buffer;
  reserved[10] = 1;
  EXPECT_EQ(DecodeRecord(reserved, 0).status, DecodeStatus::kBadType);
  std::string huge = buffer;
  huge[7] = '\x7f';
  DecodedRecord record = DecodeRecord(huge, 0);
  EXPECT_EQ(record.status, DecodeStatus::kBadLength);
  EXPECT_EQ(record.extent, kRecordHeaderBytes);  // an untrusted length claims nothing
}

TEST(RecordTest, PayloadDecodersRejectWrongSizesAndTypes) {
  Metadata metadata;
  EXPECT_FALSE(DecodeMetadata(std::string(15, '\0'), &metadata));
  raftpb::HardState state;
  EXPECT_FALSE(DecodeHardState(std::string(25, '\0'), &state));
  SnapshotMarker marker;
  EXPECT_FALSE(DecodeSnapshot(std::string(8, '\0'), &marker));
  SegmentHeader header;
  EXPECT_FALSE(DecodeSegmentHeader(std::string(24, '\0'), &header));  // no magic
  raftpb::Entry entry;
  EXPECT_FALSE(DecodeEntry(std::string(19, '\0'), &entry));
  std::string bad_entry_type(20, '\0');
  bad_entry_type[16] = 7;
  EXPECT_FALSE(DecodeEntry(bad_entry_type, &entry));
}

}  // namespace
}  // namespace etcpp::wal
