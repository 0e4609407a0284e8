#include "wal/record.h"

#include <cstring>

#include "base/assert.h"
#include "base/crc32c.h"

namespace etcpp::wal {
namespace {

// "etcppwal" read as a little-endian u64, then the format version: a segment header
// that does not carry both is not ours, or is from a format this code cannot read.
constexpr uint64_t kSegmentMagic = 0x6c61777070637465ull;
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kSegmentHeaderBytes = 8 + 4 + 8 + 4;
constexpr size_t kEntryFixedBytes = 8 + 8 + 4;

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}

void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reserves the header; the payload is appended in place, then FinishRecord fills the
// header in, so a large entry is copied into the write buffer exactly once.
size_t BeginRecord(std::string* out) {
  size_t start = out->size();
  out->append(kRecordHeaderBytes, '\0');
  return start;
}

void FinishRecord(std::string* out, size_t start, RecordType type, uint32_t* crc) {
  size_t length = out->size() - start - kRecordHeaderBytes;
  ETCPP_ASSERT(length <= kRecordPayloadBytesMax);
  char* header = out->data() + start;
  for (int i = 0; i < 4; ++i) header[4 + i] = static_cast<char>(length >> (8 * i));
  header[8] = static_cast<char>(type);
  *crc = base::crc32c::Extend(*crc, header + 4, out->size() - start - 4);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(*crc >> (8 * i));
}

bool KnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(RecordType::kSegmentHeader) &&
         type <= static_cast<uint8_t>(RecordType::kSnapshot);
}

}  // namespace

void AppendSegmentHeader(std::string* out, const SegmentHeader& header, uint32_t* crc) {
  size_t start = BeginRecord(out);
  PutU64(out, kSegmentMagic);
  PutU32(out, kFormatVersion);
  PutU64(out, header.sequence);
  PutU32(out, header.previous_crc);
  FinishRecord(out, start, RecordType::kSegmentHeader, crc);
}

void AppendMetadata(std::string* out, const Metadata& metadata, uint32_t* crc) {
  size_t start = BeginRecord(out);
  PutU64(out, metadata.member_id);
  PutU64(out, metadata.cluster_id);
  FinishRecord(out, start, RecordType::kMetadata, crc);
}

void AppendHardState(std::string* out, const raftpb::HardState& state, uint32_t* crc) {
  size_t start = BeginRecord(out);
  PutU64(out, state.term());
  PutU64(out, state.vote());
  PutU64(out, state.commit());
  FinishRecord(out, start, RecordType::kHardState, crc);
}

void AppendEntry(std::string* out, const raftpb::Entry& entry, uint32_t* crc) {
  size_t start = BeginRecord(out);
  PutU64(out, entry.index());
  PutU64(out, entry.term());
  PutU32(out, static_cast<uint32_t>(entry.type()));
  out->append(entry.data());
  FinishRecord(out, start, RecordType::kEntry, crc);
}

void AppendSnapshot(std::string* out, const SnapshotMarker& marker, uint32_t* crc) {
  size_t start = BeginRecord(out);
  PutU64(out, marker.index);
  PutU64(out, marker.term);
  FinishRecord(out, start, RecordType::kSnapshot, crc);
}

void MarkWriteEnd(std::string* out, size_t record_start, uint32_t previous_crc, uint32_t* crc) {
  ETCPP_ASSERT(record_start + kRecordHeaderBytes <= out->size());
  char* header = out->data() + record_start;
  ETCPP_ASSERT(record_start + kRecordHeaderBytes + GetU32(header + 4) == out->size());
  header[9] = static_cast<char>(header[9] | kRecordFlagWriteEnd);
  *crc = base::crc32c::Extend(previous_crc, header + 4, out->size() - record_start - 4);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(*crc >> (8 * i));
}

const char* DecodeStatusName(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kZeroHeader:
      return "zero header";
    case DecodeStatus::kTruncatedHeader:
      return "truncated header";
    case DecodeStatus::kBadLength:
      return "bad record length";
    case DecodeStatus::kBadType:
      return "bad record type";
    case DecodeStatus::kBadCrc:
      return "checksum mismatch";
  }
  return "unknown";
}

DecodedRecord DecodeRecord(std::string_view buffer, uint32_t previous_crc) {
  DecodedRecord d;
  if (buffer.size() < kRecordHeaderBytes) {
    d.status = DecodeStatus::kTruncatedHeader;
    d.extent = buffer.size();
    return d;
  }
  d.extent = kRecordHeaderBytes;
  const char* p = buffer.data();
  static constexpr char kZeros[kRecordHeaderBytes] = {};
  if (std::memcmp(p, kZeros, kRecordHeaderBytes) == 0) {
    d.status = DecodeStatus::kZeroHeader;
    return d;
  }
  uint32_t length = GetU32(p + 4);
  uint8_t type = static_cast<uint8_t>(p[8]);
  uint8_t flags = static_cast<uint8_t>(p[9]);
  if (!KnownType(type) || (flags & ~kRecordFlagWriteEnd) != 0 || p[10] != 0 || p[11] != 0) {
    d.status = DecodeStatus::kBadType;
    return d;
  }
  if (length > kRecordPayloadBytesMax || length > buffer.size() - kRecordHeaderBytes) {
    d.status = DecodeStatus::kBadLength;
    return d;
  }
  d.extent = kRecordHeaderBytes + length;
  d.write_end = (flags & kRecordFlagWriteEnd) != 0;
  uint32_t crc = base::crc32c::Extend(previous_crc, p + 4, d.extent - 4);
  if (crc != GetU32(p)) {
    d.status = DecodeStatus::kBadCrc;
    return d;
  }
  d.type = static_cast<RecordType>(type);
  d.payload = buffer.substr(kRecordHeaderBytes, length);
  d.crc = crc;
  return d;
}

uint32_t SegmentHeaderSeed(std::string_view segment) {
  if (segment.size() < kRecordHeaderBytes + kSegmentHeaderBytes) return 0;
  return GetU32(segment.data() + kRecordHeaderBytes + kSegmentHeaderBytes - 4);
}

bool DecodeSegmentHeader(std::string_view payload, SegmentHeader* header) {
  if (payload.size() != kSegmentHeaderBytes) return false;
  if (GetU64(payload.data()) != kSegmentMagic || GetU32(payload.data() + 8) != kFormatVersion) {
    return false;
  }
  header->sequence = GetU64(payload.data() + 12);
  header->previous_crc = GetU32(payload.data() + 20);
  return true;
}

bool DecodeMetadata(std::string_view payload, Metadata* metadata) {
  if (payload.size() != 16) return false;
  metadata->member_id = GetU64(payload.data());
  metadata->cluster_id = GetU64(payload.data() + 8);
  return true;
}

bool DecodeHardState(std::string_view payload, raftpb::HardState* state) {
  if (payload.size() != 24) return false;
  state->set_term(GetU64(payload.data()));
  state->set_vote(GetU64(payload.data() + 8));
  state->set_commit(GetU64(payload.data() + 16));
  return true;
}

bool DecodeEntry(std::string_view payload, raftpb::Entry* entry) {
  if (payload.size() < kEntryFixedBytes) return false;
  uint32_t type = GetU32(payload.data() + 16);
  if (!raftpb::EntryType_IsValid(static_cast<int>(type))) return false;
  entry->set_index(GetU64(payload.data()));
  entry->set_term(GetU64(payload.data() + 8));
  entry->set_type(static_cast<raftpb::EntryType>(type));
  entry->set_data(payload.data() + kEntryFixedBytes, payload.size() - kEntryFixedBytes);
  return true;
}

bool DecodeSnapshot(std::string_view payload, SnapshotMarker* marker) {
  if (payload.size() != 16) return false;
  marker->index = GetU64(payload.data());
  marker->term = GetU64(payload.data() + 8);
  return true;
}

}  // namespace etcpp::wal
