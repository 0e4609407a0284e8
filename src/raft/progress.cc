// Per-follower replication state and the in-flight window (see progress.h).
#include "raft/progress.h"

#include <algorithm>

#include "base/assert.h"

namespace etcpp::raft {

void Inflights::Add(uint64_t last_index, uint64_t bytes) {
  ETCPP_ASSERT_MSG(!Full(), "sending beyond a full in-flight window");
  ETCPP_ASSERT(items_.empty() || items_.back().last_index < last_index);
  items_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t index) {
  while (!items_.empty() && items_.front().last_index <= index) {
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
}

void Inflights::FreeFirstOne() {
  if (items_.empty()) return;
  bytes_ -= items_.front().bytes;
  items_.pop_front();
}

bool Inflights::Full() const {
  return items_.size() >= messages_max_ || (bytes_max_ != 0 && bytes_ >= bytes_max_);
}

void Inflights::Reset() {
  items_.clear();
  bytes_ = 0;
}

void Progress::BecomeProbe() {
  // Coming back from a snapshot, the follower has at least the snapshot's entries.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.Reset();
}

void Progress::SentEntries(size_t count, uint64_t bytes) {
  switch (state) {
    case ProgressState::kReplicate:
      if (count > 0) {
        next += count;
        inflights.Add(next - 1, bytes);
      }
      break;
    case ProgressState::kProbe:
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      ETCPP_ASSERT_MSG(false, "sending entries in snapshot state");
  }
}

bool Progress::MaybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecreaseTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection at or below match answers an older append: the follower has since
    // confirmed more, so it says nothing new.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe state only one append is out, at next-1; anything else is stale.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

}  // namespace etcpp::raft
