#include "server/raft_storage.h"

#include <filesystem>

namespace etcpp::server {

namespace fs = std::filesystem;

bool RaftStorage::Exists(const std::string& wal_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(wal_dir, ec)) {
    if (entry.path().extension() == ".wal") return true;
  }
  return false;
}

base::Result<std::unique_ptr<RaftStorage>> RaftStorage::Create(const std::string& wal_dir,
                                                               const std::string& snap_dir,
                                                               const wal::Metadata& metadata,
                                                               const raftpb::Snapshot& bootstrap) {
  auto snapshotter = snap::Snapshotter::Open(snap_dir);
  if (!snapshotter.ok()) return snapshotter.status();
  // The snapshot file first: the WAL's marker must never name a snapshot that is not on
  // disk, or a restart would find a gap.
  if (bootstrap.metadata().index() > 0) ETCPP_RETURN_IF_ERROR(snapshotter->Save(bootstrap));
  auto wal = wal::Wal::Create(wal_dir, metadata);
  if (!wal.ok()) return wal.status();
  const auto& meta = bootstrap.metadata();
  ETCPP_RETURN_IF_ERROR((*wal)->SaveSnapshot({meta.index(), meta.term()}));
  raftpb::HardState hard_state;
  hard_state.set_term(meta.term());
  hard_state.set_commit(meta.index());
  ETCPP_RETURN_IF_ERROR((*wal)->Save(hard_state, {}));

  std::unique_ptr<RaftStorage> storage(
      new RaftStorage(std::move(*wal), std::move(*snapshotter), metadata));
  storage->snapshot_ = bootstrap;
  // A member joining a running cluster starts from nothing (index 0); raft fills its log.
  if (meta.index() > 0) ETCPP_RETURN_IF_ERROR(storage->memory_.ApplySnapshot(bootstrap));
  storage->memory_.SetHardState(hard_state);
  return storage;
}

base::Result<std::unique_ptr<RaftStorage>> RaftStorage::Open(const std::string& wal_dir,
                                                             const std::string& snap_dir) {
  auto snapshotter = snap::Snapshotter::Open(snap_dir);
  if (!snapshotter.ok()) return snapshotter.status();
  auto snapshot = snapshotter->LoadNewest();
  // A member that joined a running cluster has no snapshot until the leader sends one;
  // its WAL then starts at index 0, which Wal::Open checks.
  if (!snapshot.ok() && snapshot.status().code() == base::Code::kNotFound) snapshot = raftpb::Snapshot();
  if (!snapshot.ok()) return snapshot.status();
  const auto& meta = snapshot->metadata();
  wal::ReplayResult replay;
  auto wal = wal::Wal::Open(wal_dir, {meta.index(), meta.term()}, &replay);
  if (!wal.ok()) return wal.status();

  std::unique_ptr<RaftStorage> storage(
      new RaftStorage(std::move(*wal), std::move(*snapshotter), replay.metadata));
  storage->snapshot_ = std::move(*snapshot);
  if (meta.index() > 0) ETCPP_RETURN_IF_ERROR(storage->memory_.ApplySnapshot(storage->snapshot_));
  ETCPP_RETURN_IF_ERROR(storage->memory_.Append(replay.entries));
  storage->memory_.SetHardState(replay.hard_state);
  return storage;
}

base::Status RaftStorage::Save(const raftpb::HardState* hard_state,
                               const std::vector<raftpb::Entry>& entries,
                               const raftpb::Snapshot* snapshot) {
  if (snapshot) {
    ETCPP_RETURN_IF_ERROR(snapshotter_.Save(*snapshot));
    ETCPP_RETURN_IF_ERROR(
        wal_->SaveSnapshot({snapshot->metadata().index(), snapshot->metadata().term()}));
  }
  if (hard_state || !entries.empty()) {
    ETCPP_RETURN_IF_ERROR(wal_->Save(hard_state ? *hard_state : raftpb::HardState(), entries));
  }
  // Only now, durable, may raft see them.
  if (snapshot) {
    ETCPP_RETURN_IF_ERROR(memory_.ApplySnapshot(*snapshot));
    snapshot_ = *snapshot;
  }
  if (!entries.empty()) ETCPP_RETURN_IF_ERROR(memory_.Append(entries));
  if (hard_state) memory_.SetHardState(*hard_state);
  return base::Status::Ok();
}

base::Status RaftStorage::Snapshot(uint64_t index, const raftpb::ConfState& conf_state,
                                   uint64_t keep_entries) {
  uint64_t previous = snapshot_.metadata().index();
  if (index <= previous) return base::Status::Ok();
  auto snapshot = memory_.CreateSnapshot(index, conf_state, "");
  if (!snapshot.ok()) return snapshot.status();
  ETCPP_RETURN_IF_ERROR(snapshotter_.Save(*snapshot));
  ETCPP_RETURN_IF_ERROR(wal_->SaveSnapshot({index, snapshot->metadata().term()}));
  snapshot_ = std::move(*snapshot);
  if (index > keep_entries && index - keep_entries >= memory_.FirstIndex()) {
    ETCPP_RETURN_IF_ERROR(memory_.Compact(index - keep_entries));
  }
  return wal_->ReleaseTo(previous);
}

}  // namespace etcpp::server
