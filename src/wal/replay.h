// Replay: turns the bytes of a WAL's segments, oldest first, into what raft needs after
// a restart. Pure (no I/O): the caller reads each segment file and hands its bytes in,
// which is also how the fuzzer drives it. One Replayer per Open, one thread.
//
// Rules, in log order:
//   - every segment starts with a header record whose sequence is the expected one and,
//     from the second segment replayed on, whose previous_crc is where the chain stood at
//     the end of the segment before (a missing or swapped segment breaks the chain);
//   - metadata records must all agree;
//   - the last hard state record wins;
//   - entries with index <= the snapshot marker's are skipped; an entry at index i drops
//     every entry >= i seen so far (raft truncation) and must directly follow the ones
//     kept, so the result is contiguous from marker.index + 1;
//   - a non-zero snapshot marker must appear as a snapshot record.
//
// Where the valid records of a segment end (see docs/WAL_FORMAT.md, "Torn tail"):
//   - at an all-zero header followed by zeros only: the clean end of the written log;
//   - in the last segment only, at a bad record that looks torn — no later record
//     continues the chain from the crc its header stores, and either all bytes after its
//     extent are zero (the write stopped inside it) or a 512-byte sector inside its
//     extent is zero (a sector never reached the disk): the tail from there is a torn
//     write, reported as such for the caller to cut off;
//   - anything else is corruption: a kCorruption Status naming the file and offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"
#include "wal/record.h"

namespace etcpp::wal {

// What Open returns: the log's owner, the last hard state and the entries after the
// snapshot marker (contiguous, ascending, from marker.index + 1).
struct ReplayResult {
  Metadata metadata;
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;
};

// Where one segment's valid records end.
struct SegmentEnd {
  uint64_t offset = 0;      // first byte after the last valid record: the append position
  uint32_t crc = 0;         // the chain value after the last valid record
  bool torn = false;        // a torn write starts at `offset` and must be cut off
  std::string torn_reason;  // what was found there, for the repair's log line
};

class Replayer {
 public:
  explicit Replayer(SnapshotMarker marker) : marker_(marker) {}

  // Scans the next segment. `name` is used in error messages only.
  base::Result<SegmentEnd> ScanSegment(std::string_view name, std::string_view data,
                                       uint64_t expected_sequence, bool is_last);

  // Checks what can only be checked at the end (metadata seen, marker found) and
  // moves the result out.
  base::Result<ReplayResult> Finish();

  // For the writer that continues the log: the newest snapshot record and hard state, and
  // the index of the last entry written (in log order, skipped or not).
  SnapshotMarker latest_snapshot() const { return latest_snapshot_; }
  const raftpb::HardState& hard_state() const { return result_.hard_state; }
  uint64_t last_written_index() const { return last_written_index_; }

 private:
  base::Status Apply(std::string_view name, uint64_t offset, const DecodedRecord& record,
                     uint64_t expected_sequence);
  base::Status ApplyEntry(std::string_view name, uint64_t offset, std::string_view payload);

  SnapshotMarker marker_;
  ReplayResult result_;
  bool metadata_seen_ = false;
  bool marker_found_ = false;
  SnapshotMarker latest_snapshot_;
  uint64_t last_written_index_ = 0;
  std::optional<uint32_t> chain_crc_;  // set once a segment has been scanned
};

}  // namespace etcpp::wal
