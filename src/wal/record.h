// WAL record framing and payload codecs (the format is specified in docs/WAL_FORMAT.md).
// Pure functions over byte buffers: no I/O, no state, safe from any thread.
//
// A record is a 12-byte header — crc u32, length u32, type u8, flags u8, two zero
// bytes — and `length` payload bytes, all little-endian. The crc is CRC32C over everything after
// the crc field (length, type, reserved, payload), *continued from the previous record's crc*, so
// the records of a log form one checksummed chain: a record that is valid on its own but out of
// place (stale, reordered, from another log) still fails the check.
//
// The decoder reads untrusted bytes (a disk may return anything); it must never read
// outside the buffer it is given, whatever those bytes are. It is fuzzed for that
// (decoder_fuzz.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "etcpp/raftpb.pb.h"

namespace etcpp::wal {

// Who this log belongs to; written once at Create and repeated at the head of every
// segment so it survives ReleaseTo.
struct Metadata {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  friend bool operator==(const Metadata&, const Metadata&) = default;
};

// The index and term of a raft snapshot; the log before it is not needed for replay.
struct SnapshotMarker {
  uint64_t index = 0;
  uint64_t term = 0;
  friend bool operator==(const SnapshotMarker&, const SnapshotMarker&) = default;
};

// First record of every segment: its place in the sequence of segments and the chained
// crc the previous segment ended with, which links the chain across files.
struct SegmentHeader {
  uint64_t sequence = 0;
  uint32_t previous_crc = 0;
};

// Type 0 is never written, so an all-zero header (preallocated space) is never a record.
enum class RecordType : uint8_t {
  kSegmentHeader = 1,
  kMetadata = 2,
  kHardState = 3,
  kEntry = 4,
  kSnapshot = 5,
};

inline constexpr size_t kRecordHeaderBytes = 12;
// Flag on the last record of each write (Save, SaveSnapshot, a segment's preamble): only
// the last write can be torn, so replay can tell a torn write from lost synced data by
// whether a write boundary survives after the damage.
inline constexpr uint8_t kRecordFlagWriteEnd = 1;
// Sanity bound for the length field; far above any entry raft will be given
// (--max-request-bytes), far below what would make a bogus length exhaust memory.
inline constexpr uint32_t kRecordPayloadBytesMax = 256u << 20;

// Appends one framed record to `out`, continuing the chain from *crc and leaving the new
// record's crc in *crc.
void AppendSegmentHeader(std::string* out, const SegmentHeader& header, uint32_t* crc);
void AppendMetadata(std::string* out, const Metadata& metadata, uint32_t* crc);
void AppendHardState(std::string* out, const raftpb::HardState& state, uint32_t* crc);
void AppendEntry(std::string* out, const raftpb::Entry& entry, uint32_t* crc);
void AppendSnapshot(std::string* out, const SnapshotMarker& marker, uint32_t* crc);

// Sets kRecordFlagWriteEnd on the record at `record_start`, the last one in `out`, and
// recomputes its crc from `previous_crc` (the chain value before it) into *crc.
void MarkWriteEnd(std::string* out, size_t record_start, uint32_t previous_crc, uint32_t* crc);

// Encodes the records of one write into `out` (cleared first), chained from `crc`, and
// flags the last of them as the write's end. Usage:
//   WriteEncoder encoder(&buffer, crc);
//   encoder.Add(AppendEntry, entry);  ...
//   uint32_t crc_after = encoder.Finish();
class WriteEncoder {
 public:
  WriteEncoder(std::string* out, uint32_t crc) : out_(out), crc_(crc) { out_->clear(); }

  template <typename Value>
  void Add(void (*append)(std::string*, const Value&, uint32_t*), const Value& value) {
    last_start_ = out_->size();
    crc_before_last_ = crc_;
    append(out_, value, &crc_);
  }

  // Returns the chain value after the last record; at least one record must be added.
  uint32_t Finish() {
    ETCPP_ASSERT(!out_->empty());
    MarkWriteEnd(out_, last_start_, crc_before_last_, &crc_);
    return crc_;
  }

 private:
  std::string* out_;
  uint32_t crc_;
  size_t last_start_ = 0;
  uint32_t crc_before_last_ = 0;
};

enum class DecodeStatus {
  kOk,
  kZeroHeader,       // an all-zero header: preallocated space, the end of the written log
  kTruncatedHeader,  // fewer than kRecordHeaderBytes bytes left
  kBadLength,        // length above the bound or beyond the end of the buffer
  kBadType,          // unknown type or flags, or non-zero reserved bytes
  kBadCrc,           // checksum does not continue the chain
};

const char* DecodeStatusName(DecodeStatus status);

struct DecodedRecord {
  DecodeStatus status = DecodeStatus::kOk;
  RecordType type = RecordType::kSegmentHeader;  // valid when status is kOk
  std::string_view payload;                      // points into the decoded buffer
  uint32_t crc = 0;                              // the chain value after this record (when kOk)
  size_t extent = 0;       // bytes the record occupies: header + length, or the header
                           // alone when the length cannot be trusted (kBadLength, ...)
  bool write_end = false;  // kRecordFlagWriteEnd is set (when kOk or kBadCrc)
};

// Decodes the record at the start of `buffer`, whose predecessor left `previous_crc`.
DecodedRecord DecodeRecord(std::string_view buffer, uint32_t previous_crc);

// The chain seed a segment's first record claims: the previous_crc field of a segment
// header at the start of `segment`, or 0 if the bytes are too short to hold one.
uint32_t SegmentHeaderSeed(std::string_view segment);

// Payload decoders: false when the payload has the wrong size or an invalid field.
bool DecodeSegmentHeader(std::string_view payload, SegmentHeader* header);
bool DecodeMetadata(std::string_view payload, Metadata* metadata);
bool DecodeHardState(std::string_view payload, raftpb::HardState* state);
bool DecodeEntry(std::string_view payload, raftpb::Entry* entry);
bool DecodeSnapshot(std::string_view payload, SnapshotMarker* marker);

}  // namespace etcpp::wal
