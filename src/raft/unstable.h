// Unstable: the tail of the log (and possibly an incoming snapshot) that the core has
// accepted but the caller has not yet persisted. Entries leave it when the caller calls
// Advance() after writing them (StableTo); a snapshot leaves it once installed.
//
// Invariant: entries_ are contiguous starting at offset_; if snapshot_ is set,
// offset_ == snapshot index + 1.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "etcpp/raftpb.pb.h"

namespace etcpp::raft {

class Unstable {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  // Index of the snapshot's first following entry, if a snapshot is pending.
  std::optional<uint64_t> MaybeFirstIndex() const;
  std::optional<uint64_t> MaybeLastIndex() const;
  std::optional<uint64_t> MaybeTerm(uint64_t index) const;

  // The caller persisted entries up to (index, term); drop them unless they have since
  // been replaced by entries of another term.
  void StableTo(uint64_t index, uint64_t term);
  void StableSnapshotTo(uint64_t index);

  void Restore(const raftpb::Snapshot& snapshot);
  // Appends entries, replacing what they overlap. entries must not be empty.
  void TruncateAndAppend(std::vector<raftpb::Entry> entries);
  // Appends copies of entries [lo, hi) to out; both must lie in this unstable tail.
  void CopyTo(uint64_t lo, uint64_t hi, std::vector<raftpb::Entry>* out) const;

  uint64_t offset() const { return offset_; }
  const std::vector<raftpb::Entry>& entries() const { return entries_; }
  const std::optional<raftpb::Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<raftpb::Snapshot> snapshot_;
  std::vector<raftpb::Entry> entries_;
  uint64_t offset_;
};

}  // namespace etcpp::raft
