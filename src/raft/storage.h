// Storage: the caller's durable raft log as the core reads it. The core never writes
// through it; the caller persists what each Ready hands out (entries, hard state,
// snapshot) and only then lets the core see it here. A server implements it over the
// WAL; MemoryStorage below is the in-memory version for tests and the simulator.
//
// Index space: the log holds entries (FirstIndex()-1, LastIndex()]; everything at or
// below FirstIndex()-1 is compacted into the latest snapshot, whose index and term are
// still answered by Term(FirstIndex()-1).
//
// Not thread-safe: one owner (the raft loop) calls it.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"

namespace etcpp::raft {

// Errors of Storage calls, recognised by code:
//   kOutOfRange  — the index is compacted (below FirstIndex()-1): send a snapshot.
//   kNotFound    — the index is past LastIndex().
//   kUnavailable — the snapshot is being built; try again later.
base::Status CompactedError();
base::Status UnavailableIndexError();
inline bool IsCompacted(const base::Status& s) { return s.code() == base::Code::kOutOfRange; }

struct InitialState {
  raftpb::HardState hard_state;
  raftpb::ConfState conf_state;  // the configuration as of the latest snapshot
};

// An entry's size as counted against byte limits.
inline uint64_t EntryBytes(const raftpb::Entry& e) { return e.ByteSizeLong(); }
// The application payload, counted against the uncommitted-bytes bound.
inline uint64_t PayloadBytes(const raftpb::Entry& e) { return e.data().size(); }

class Storage {
 public:
  virtual ~Storage() = default;

  virtual base::Result<InitialState> GetInitialState() const = 0;
  // Entries [lo, hi), at most max_bytes in total but always at least one if lo < hi.
  virtual base::Result<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                           uint64_t max_bytes) const = 0;
  // Term of the entry at index, for index in [FirstIndex()-1, LastIndex()].
  virtual base::Result<uint64_t> Term(uint64_t index) const = 0;
  virtual uint64_t FirstIndex() const = 0;
  virtual uint64_t LastIndex() const = 0;
  virtual base::Result<raftpb::Snapshot> Snapshot() const = 0;
};

// MemoryStorage keeps the log in a vector whose element 0 stands for the snapshot
// point (its index and term; no data). Example: after ApplySnapshot(index 5, term 2)
// and Append(entries 6..8), entries_ = [{5,t2}, {6}, {7}, {8}], FirstIndex() = 6,
// LastIndex() = 8, Term(5) = 2, Term(4) is compacted.
class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  base::Result<InitialState> GetInitialState() const override;
  base::Result<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                   uint64_t max_bytes) const override;
  base::Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  base::Result<raftpb::Snapshot> Snapshot() const override;

  void SetHardState(const raftpb::HardState& hs) { hard_state_ = hs; }
  const raftpb::HardState& hard_state() const { return hard_state_; }

  // Replaces the whole log by the snapshot; refuses one older than the current one.
  base::Status ApplySnapshot(const raftpb::Snapshot& snapshot);
  // Records a snapshot of the application state at index (<= LastIndex()) without
  // compacting; returns it. Refuses an index at or below the current snapshot's.
  base::Result<raftpb::Snapshot> CreateSnapshot(uint64_t index, const raftpb::ConfState& cs,
                                                std::string data);
  // Drops the entries before index; index must be <= LastIndex().
  base::Status Compact(uint64_t index);
  // Appends entries, replacing any existing suffix that they overlap. The entries must
  // be contiguous and must not leave a gap after LastIndex().
  base::Status Append(std::vector<raftpb::Entry> entries);

 private:
  uint64_t Offset() const { return entries_.front().index(); }

  raftpb::HardState hard_state_;
  raftpb::Snapshot snapshot_;
  std::vector<raftpb::Entry> entries_;  // entries_[0] is the snapshot point
};

}  // namespace etcpp::raft
