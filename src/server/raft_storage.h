// RaftStorage: a member's durable raft state — the WAL, the snapshot files and the
// in-memory copy of the log that raft reads (raft::MemoryStorage). Save() makes a
// Ready's snapshot, entries and hard state durable with one WAL sync before they are
// visible to raft, which is what lets the raft loop send the messages that depend on
// them.
//
// Layout under the member directory (etcd's): wal/ (unless --wal-dir), snap/.
//
// Threads: owned by the raft loop.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "raft/storage.h"
#include "snap/snapshotter.h"
#include "wal/wal.h"

namespace etcpp::server {

class RaftStorage {
 public:
  // A new member: creates the WAL with its ids and records `bootstrap` — a snapshot at
  // index 1 whose conf state holds the initial voters — as its starting point; or, for a
  // member joining a running cluster, an empty snapshot at index 0.
  static base::Result<std::unique_ptr<RaftStorage>> Create(const std::string& wal_dir,
                                                           const std::string& snap_dir,
                                                           const wal::Metadata& metadata,
                                                           const raftpb::Snapshot& bootstrap);
  // A restart: loads the newest snapshot, replays the WAL after it.
  static base::Result<std::unique_ptr<RaftStorage>> Open(const std::string& wal_dir,
                                                         const std::string& snap_dir);
  // Whether `wal_dir` holds a log (a restart rather than a new member).
  static bool Exists(const std::string& wal_dir);

  raft::MemoryStorage* memory() { return &memory_; }
  const wal::Metadata& metadata() const { return metadata_; }
  const raftpb::Snapshot& snapshot() const { return snapshot_; }

  // Records that the application state up to `index` is durable elsewhere (the backend
  // committed it): writes a snapshot file and WAL marker for it, drops the in-memory log
  // before it (keeping `keep_entries` for followers that are a little behind), and
  // releases the WAL segments the previous snapshot covers — the previous one, because
  // a restart falls back to it when the newest snapshot file is damaged.
  base::Status Snapshot(uint64_t index, const raftpb::ConfState& conf_state,
                        uint64_t keep_entries);

  // Persists what a Ready asks for, in order: snapshot file and marker, then the entries
  // and hard state with one sync; then shows them to raft.
  base::Status Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries,
                    const raftpb::Snapshot* snapshot);

 private:
  RaftStorage(std::unique_ptr<wal::Wal> wal, snap::Snapshotter snapshotter,
              wal::Metadata metadata)
      : wal_(std::move(wal)), snapshotter_(std::move(snapshotter)), metadata_(metadata) {}

  std::unique_ptr<wal::Wal> wal_;
  snap::Snapshotter snapshotter_;
  wal::Metadata metadata_;
  raftpb::Snapshot snapshot_;
  raft::MemoryStorage memory_;
};

}  // namespace etcpp::server
