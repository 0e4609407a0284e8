// Wal: raft's write-ahead log — the hard state and log entries a member has promised to
// remember, made durable before raft acts on them (sends a vote, acknowledges an append).
//
// A directory of segment files "<sequence>-<first index>.wal" (16 hex digits each), each
// preallocated to Options::segment_bytes and filled with checksummed, chained records
// (docs/WAL_FORMAT.md). Every segment begins with a preamble — header, metadata, the
// newest snapshot marker and hard state — so the newest state survives ReleaseTo.
//
// Durability contract: when Save or SaveSnapshot returns OK, everything it was given is
// on stable storage (one fdatasync per call in the common case). After any I/O error the
// Wal refuses all further writes with that error: after a failed fsync the kernel may
// have dropped the dirty pages, so nothing later may be acknowledged (the member must
// restart and replay).
//
// Threading: one owner thread (the raft loop); no internal locking. The directory is
// locked (flock) for the Wal's lifetime so a second process cannot append to it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"
#include "wal/file.h"
#include "wal/record.h"
#include "wal/replay.h"

namespace etcpp::wal {

struct Options {
  // Size each segment is preallocated to; a new segment is started when a batch would
  // not fit. A batch larger than a segment gets a segment of its own, grown to fit.
  uint64_t segment_bytes = 64ull << 20;

  base::Status Validate() const;
};

class Wal {
 public:
  // Creates a new log in `dir` (created if missing; must not already hold a log).
  static base::Result<std::unique_ptr<Wal>> Create(const std::string& dir, const Metadata& metadata,
                                                   const Options& options = {});

  // Opens the log in `dir` for appending after replaying it into *replay. `marker` is the
  // snapshot the caller restarts from ({0, 0} for none); it must be recorded in the log,
  // and entries come back from marker.index + 1. A torn tail in the last segment is cut
  // off (logged to stderr); corruption before it fails with kCorruption naming the file
  // and offset, and nothing is changed on disk.
  static base::Result<std::unique_ptr<Wal>> Open(const std::string& dir,
                                                 const SnapshotMarker& marker, ReplayResult* replay,
                                                 const Options& options = {});

  ~Wal() = default;
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends `entries` (ascending and contiguous, as raft hands them out) and then `state`
  // (skipped when empty), and syncs. An entry whose index is already in the log replaces
  // it and everything after it on replay (raft truncation).
  base::Status Save(const raftpb::HardState& state, std::span<const raftpb::Entry> entries);

  // Records that a snapshot at `marker` exists, and syncs. Write the snapshot file first:
  // replay insists on finding the marker the caller restarts from.
  base::Status SaveSnapshot(const SnapshotMarker& marker);

  // Removes the oldest segments whose entries all have index <= `index`; the segment
  // being written is always kept. `index` must not exceed the snapshot marker the next
  // Open will be given, or replay finds a gap.
  base::Status ReleaseTo(uint64_t index);

  // Names of the current segment files, oldest first (for tests and tools).
  std::vector<std::string> SegmentNamesForTesting() const;

 private:
  struct Segment {
    uint64_t sequence = 0;
    uint64_t first_index = 0;
  };

  Wal(std::string dir, const Options& options, UniqueFd dir_lock);

  // Creates the segment after the current one (or the first) and makes it current.
  base::Status Cut();
  // Starts a new segment first when `bytes` more would overflow the current one.
  base::Status CutIfFull(uint64_t bytes);
  // Writes the already-encoded records in buffer_ at the append position and syncs.
  base::Status WriteBuffer(uint32_t crc_after);
  base::Status Repair(const std::string& name, const SegmentEnd& end);
  std::string PathOf(const Segment& segment) const;

  const std::string dir_;
  const Options options_;
  UniqueFd dir_lock_;
  UniqueFd file_;  // the last segment, open for writing
  std::vector<Segment> segments_;
  uint64_t offset_ = 0;           // append position in the last segment
  uint64_t preamble_end_ = 0;     // where the last segment's preamble ends
  uint64_t allocated_bytes_ = 0;  // the last segment's preallocated size
  uint32_t crc_ = 0;              // chain value after the last record written
  Metadata metadata_;
  raftpb::HardState hard_state_;
  SnapshotMarker snapshot_;
  uint64_t last_index_ = 0;  // index of the last entry written, in log order
  base::Status failed_;      // sticky: the first write or sync error
  std::string buffer_;       // reused encoding buffer
};

}  // namespace etcpp::wal
