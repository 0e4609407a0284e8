// RaftLog: one member's view of the log — the caller's Storage (persisted prefix)
// followed by the Unstable tail — plus the commit and applied cursors.
//
// Invariants: applied <= committed <= LastIndex(); FirstIndex()-1 <= applied (or a
// snapshot is pending in unstable); no entry at or below committed is ever replaced.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base/status.h"
#include "raft/storage.h"
#include "raft/unstable.h"

namespace etcpp::raft {

class RaftLog {
 public:
  RaftLog(Storage* storage, uint64_t committed_bytes_per_ready_max);

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  base::Result<uint64_t> Term(uint64_t index) const;
  uint64_t LastTerm() const;
  // Term(index), or 0 if index is compacted or unknown.
  uint64_t ZeroTermOnError(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // The election restriction: is a log ending at (last_index, last_term) at least as
  // up to date as this one?
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Follower side of an append: if our entry at prev_index has prev_term, append the
  // entries (dropping any conflicting suffix) and advance the commit to
  // min(leader_commit, last new index). Returns the last new index, or nullopt on a
  // mismatch.
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                      uint64_t leader_commit, std::vector<raftpb::Entry> entries);
  // Leader side: appends entries after LastIndex(); returns the new last index.
  uint64_t Append(std::vector<raftpb::Entry> entries);
  // The first entry whose index is absent or whose term differs, or 0.
  uint64_t FindConflict(const std::vector<raftpb::Entry>& entries) const;
  // The last index <= index whose term is <= term, with that term; (index, 0) when the
  // search reaches compacted entries. Used to skip a whole term when backtracking.
  std::pair<uint64_t, uint64_t> FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Commits up to max_index if that entry has `term` (a leader only counts entries of
  // its own term). Returns whether the commit index moved.
  bool MaybeCommit(uint64_t max_index, uint64_t term, bool allow_any_term_for_testing);
  void CommitTo(uint64_t index);
  void AppliedTo(uint64_t index);
  void StableTo(uint64_t index, uint64_t term) { unstable_.StableTo(index, term); }
  void StableSnapshotTo(uint64_t index) { unstable_.StableSnapshotTo(index); }
  void Restore(const raftpb::Snapshot& snapshot);

  // Entries [lo, hi) from storage and/or unstable, bounded by max_bytes (at least one).
  base::Result<std::vector<raftpb::Entry>> Slice(uint64_t lo, uint64_t hi,
                                                 uint64_t max_bytes) const;
  base::Result<std::vector<raftpb::Entry>> EntriesFrom(uint64_t lo, uint64_t max_bytes) const;
  base::Result<raftpb::Snapshot> Snapshot() const;

  // What the caller must persist / apply next.
  const std::vector<raftpb::Entry>& UnstableEntries() const { return unstable_.entries(); }
  const std::optional<raftpb::Snapshot>& PendingSnapshot() const { return unstable_.snapshot(); }
  bool HasNextCommittedEntries() const;
  std::vector<raftpb::Entry> NextCommittedEntries() const;

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }

 private:
  Storage* storage_;
  Unstable unstable_;
  uint64_t committed_;
  uint64_t applied_;
  uint64_t committed_bytes_per_ready_max_;
};

}  // namespace etcpp::raft
