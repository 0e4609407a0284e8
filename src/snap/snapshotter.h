// Snapshotter: raft snapshot files in one directory — the metadata (index, term, conf
// state) and the application's state image a member restarts from or sends to a
// lagging follower.
//
// One file per snapshot, "<term>-<index>.snap" (16 hex digits each, so name order is
// snapshot order: a later snapshot never has a lower term or index). Contents
// (little-endian): magic "etcppsnp" (8 bytes), format version u32, CRC32C of the body
// u32, body length u64, body = the raftpb::Snapshot in protobuf encoding.
//
// Durability: Save returns only once the file is complete, synced, renamed into place
// and the rename synced — a crash leaves either no file or a whole one. LoadNewest still
// distrusts the disk: a file that fails its checks is skipped with a warning and the
// previous snapshot is used; nothing is deleted, so an operator can inspect it.
//
// Threading: one owner thread; the directory is assumed to have a single writer.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"

namespace etcpp::snap {

struct Options {
  // How many snapshot files Save leaves behind (the newest ones).
  size_t keep = 5;

  base::Status Validate() const;
};

class Snapshotter {
 public:
  // `dir` is created if missing.
  static base::Result<Snapshotter> Open(const std::string& dir, const Options& options = {});

  // Writes `snapshot` (metadata.index must be > 0), then removes the oldest files beyond
  // Options::keep.
  base::Status Save(const raftpb::Snapshot& snapshot);

  // The newest snapshot that passes its checks; kNotFound when there is none.
  base::Result<raftpb::Snapshot> LoadNewest() const;

  // Names of the snapshot files, oldest first.
  base::Result<std::vector<std::string>> ListForTesting() const;

 private:
  Snapshotter(std::string dir, const Options& options) : dir_(std::move(dir)), options_(options) {}

  base::Status Purge() const;

  std::string dir_;
  Options options_;
};

// Encodes and checks a snapshot file's contents (exposed for tests and fuzzing).
std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot);
base::Status DecodeSnapshotFile(std::string_view contents, raftpb::Snapshot* snapshot);

}  // namespace etcpp::snap
