#include "wal/replay.h"

#include <algorithm>
#include <cstring>

namespace etcpp::wal {
namespace {

using base::Code;
using base::Result;
using base::Status;

constexpr uint64_t kSectorBytes = 512;

uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

Status CorruptionAt(std::string_view name, uint64_t offset, std::string_view what) {
  return Status(Code::kCorruption, "wal: " + std::string(name) + " at offset " +
                                       std::to_string(offset) + ": " + std::string(what));
}

// Whether some record after the bad one at `offset` continues the chain from the crc
// the bad record's header stores. A write cut short leaves nothing complete behind the
// record it was writing, so a chained successor means the bad record was once whole and
// has been damaged since — a flipped length or type, say, that would otherwise make
// the record seem to run into the zeros at the end of the log.
bool ChainContinuesAfter(std::string_view data, uint64_t offset) {
  std::string_view header = data.substr(offset, kRecordHeaderBytes);
  if (header.size() < kRecordHeaderBytes || AllZero(header)) return false;
  uint32_t stored_crc = LoadU32(header.data());
  size_t last_nonzero = data.find_last_not_of('\0');
  for (uint64_t at = offset + kRecordHeaderBytes; at + kRecordHeaderBytes <= last_nonzero + 1;
       ++at) {
    // Most positions fail DecodeRecord's header checks before any checksum is computed.
    if (DecodeRecord(data.substr(at), stored_crc).status == DecodeStatus::kOk) return true;
  }
  return false;
}

// Whether a write boundary survives after the bad record at `offset`: a record flagged as
// the end of a write, followed by a record that continues the chain from it. Each write
// is synced before the next one starts, so only the last write can be torn — and a
// torn write is the last thing in the log. A boundary after the damage means synced
// writes follow it: the disk lost synced bytes, which is corruption.
bool LaterWriteFollows(std::string_view data, uint64_t offset) {
  size_t last_nonzero = data.find_last_not_of('\0');
  for (uint64_t at = offset + 1; at + kRecordHeaderBytes <= last_nonzero + 1; ++at) {
    // The seed of this record is unknown, so its own crc cannot match; its successor's can.
    DecodedRecord end = DecodeRecord(data.substr(at), 0);
    bool plausible = end.status == DecodeStatus::kOk || end.status == DecodeStatus::kBadCrc;
    if (!plausible || !end.write_end) continue;
    uint32_t stored_crc = LoadU32(data.data() + at);
    if (DecodeRecord(data.substr(at + end.extent), stored_crc).status == DecodeStatus::kOk) {
      return true;
    }
  }
  return false;
}

// The torn-write rule (replay.h) for a bad record at [offset, offset + extent) of the
// last segment.
bool LooksTorn(std::string_view data, uint64_t offset, uint64_t extent) {
  ETCPP_ASSERT(offset <= data.size() && extent <= data.size() - offset);
  if (ChainContinuesAfter(data, offset) || LaterWriteFollows(data, offset)) return false;
  uint64_t end = offset + extent;
  // The write stopped inside this record: nothing but preallocated zeros follows.
  if (AllZero(data.substr(end))) return true;
  // A sector-sized hole of zeros inside the record: under power loss the sectors of an
  // unsynced write reach the disk in any order, and one that did not still holds the
  // zeros the segment was preallocated with. The hole runs from the record's start (or
  // the sector's) to the sector's end.
  for (uint64_t s = offset / kSectorBytes * kSectorBytes; s < end; s += kSectorBytes) {
    uint64_t from = std::max(s, offset);
    uint64_t to = s + kSectorBytes;
    if (to > data.size()) break;
    if (AllZero(data.substr(from, to - from))) return true;
  }
  return false;
}

}  // namespace

Result<SegmentEnd> Replayer::ScanSegment(std::string_view name, std::string_view data,
                                         uint64_t expected_sequence, bool is_last) {
  SegmentEnd end;
  uint64_t offset = 0;
  uint32_t crc = 0;
  while (offset < data.size()) {
    // A header record's chain starts from the previous_crc it carries; Apply checks
    // that claim against where the previous segment's chain ended.
    if (offset == 0) crc = SegmentHeaderSeed(data);
    DecodedRecord record = DecodeRecord(data.substr(offset), crc);
    if (record.status == DecodeStatus::kOk) {
      ETCPP_RETURN_IF_ERROR(Apply(name, offset, record, expected_sequence));
      crc = record.crc;
      offset += record.extent;
      continue;
    }
    if (offset == 0) {
      return CorruptionAt(
          name, 0,
          std::string("no valid segment header (") + DecodeStatusName(record.status) + ")");
    }
    bool zero_end = (record.status == DecodeStatus::kZeroHeader ||
                     record.status == DecodeStatus::kTruncatedHeader) &&
                    AllZero(data.substr(offset));
    if (zero_end) break;
    // A length running past the end of the file: the file ends inside this record.
    uint64_t extent =
        record.status == DecodeStatus::kBadLength ? data.size() - offset : record.extent;
    if (!is_last || !LooksTorn(data, offset, extent)) {
      return CorruptionAt(name, offset, DecodeStatusName(record.status));
    }
    end.torn = true;
    end.torn_reason = DecodeStatusName(record.status);
    break;
  }
  if (offset == 0) return CorruptionAt(name, 0, "empty segment");
  end.offset = offset;
  end.crc = crc;
  chain_crc_ = crc;
  return end;
}

Status Replayer::Apply(std::string_view name, uint64_t offset, const DecodedRecord& record,
                       uint64_t expected_sequence) {
  if ((offset == 0) != (record.type == RecordType::kSegmentHeader)) {
    return CorruptionAt(name, offset, "segment header record out of place");
  }
  switch (record.type) {
    case RecordType::kSegmentHeader: {
      SegmentHeader header;
      if (!DecodeSegmentHeader(record.payload, &header)) {
        return CorruptionAt(name, offset, "malformed segment header");
      }
      if (header.sequence != expected_sequence) {
        return CorruptionAt(name, offset,
                            "segment sequence " + std::to_string(header.sequence) + ", expected " +
                                std::to_string(expected_sequence));
      }
      if (chain_crc_.has_value() && header.previous_crc != *chain_crc_) {
        return CorruptionAt(name, offset, "crc chain broken between segments");
      }
      return Status::Ok();
    }
    case RecordType::kMetadata: {
      Metadata metadata;
      if (!DecodeMetadata(record.payload, &metadata)) {
        return CorruptionAt(name, offset, "malformed metadata");
      }
      if (metadata_seen_ && !(metadata == result_.metadata)) {
        return CorruptionAt(name, offset, "metadata differs from earlier segments");
      }
      result_.metadata = metadata;
      metadata_seen_ = true;
      return Status::Ok();
    }
    case RecordType::kHardState:
      if (!DecodeHardState(record.payload, &result_.hard_state)) {
        return CorruptionAt(name, offset, "malformed hard state");
      }
      return Status::Ok();
    case RecordType::kEntry:
      return ApplyEntry(name, offset, record.payload);
    case RecordType::kSnapshot: {
      SnapshotMarker marker;
      if (!DecodeSnapshot(record.payload, &marker)) {
        return CorruptionAt(name, offset, "malformed snapshot marker");
      }
      latest_snapshot_ = marker;
      if (marker == marker_) marker_found_ = true;
      return Status::Ok();
    }
  }
  return CorruptionAt(name, offset, "unknown record type");
}

Status Replayer::ApplyEntry(std::string_view name, uint64_t offset, std::string_view payload) {
  raftpb::Entry entry;
  if (!DecodeEntry(payload, &entry)) return CorruptionAt(name, offset, "malformed entry");
  last_written_index_ = entry.index();
  if (entry.index() <= marker_.index) return Status::Ok();
  uint64_t position = entry.index() - marker_.index - 1;
  std::vector<raftpb::Entry>& entries = result_.entries;
  if (position > entries.size()) {
    return Status(Code::kFailedPrecondition,
                  "wal: " + std::string(name) + " at offset " + std::to_string(offset) +
                      ": entry " + std::to_string(entry.index()) + " does not follow entry " +
                      std::to_string(marker_.index + entries.size()) +
                      " (is the snapshot marker the newest one?)");
  }
  entries.resize(position);  // raft truncation: a rewritten index drops everything after it
  entries.push_back(std::move(entry));
  return Status::Ok();
}

Result<ReplayResult> Replayer::Finish() {
  if (!metadata_seen_) return Status(Code::kCorruption, "wal: no metadata record");
  if (marker_.index != 0 && !marker_found_) {
    return Status(Code::kNotFound, "wal: snapshot marker index " + std::to_string(marker_.index) +
                                       " term " + std::to_string(marker_.term) +
                                       " not found in the log");
  }
  return std::move(result_);
}

}  // namespace etcpp::wal
