// The not-yet-persisted tail of the log (see unstable.h).
#include "raft/unstable.h"

#include <iterator>
#include <utility>

#include "base/assert.h"

namespace etcpp::raft {

std::optional<uint64_t> Unstable::MaybeFirstIndex() const {
  if (snapshot_) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeTerm(uint64_t index) const {
  if (index < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == index) return snapshot_->metadata().term();
    return std::nullopt;
  }
  if (index - offset_ >= entries_.size()) return std::nullopt;
  return entries_[index - offset_].term();
}

void Unstable::StableTo(uint64_t index, uint64_t term) {
  std::optional<uint64_t> t = MaybeTerm(index);
  // A snapshot in unstable shares index space with nothing persisted yet; entries only
  // become stable if they are still the ones that were handed out.
  if (!t || *t != term || index < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(index + 1 - offset_));
  offset_ = index + 1;
}

void Unstable::StableSnapshotTo(uint64_t index) {
  if (snapshot_ && snapshot_->metadata().index() == index) snapshot_.reset();
}

void Unstable::Restore(const raftpb::Snapshot& snapshot) {
  offset_ = snapshot.metadata().index() + 1;
  entries_.clear();
  snapshot_ = snapshot;
}

void Unstable::TruncateAndAppend(std::vector<raftpb::Entry> entries) {
  ETCPP_ASSERT(!entries.empty());
  const uint64_t first = entries.front().index();
  if (first == offset_ + entries_.size()) {
    // The common case: the new entries follow directly.
  } else if (first <= offset_) {
    // Everything unstable is replaced; the storage keeps entries below `first`.
    offset_ = first;
    entries_.clear();
  } else {
    entries_.resize(first - offset_);
  }
  if (entries_.empty()) {
    entries_ = std::move(entries);
  } else {
    entries_.insert(entries_.end(), std::make_move_iterator(entries.begin()),
                    std::make_move_iterator(entries.end()));
  }
}

void Unstable::CopyTo(uint64_t lo, uint64_t hi, std::vector<raftpb::Entry>* out) const {
  ETCPP_ASSERT(lo >= offset_ && lo <= hi && hi <= offset_ + entries_.size());
  out->insert(out->end(), entries_.begin() + static_cast<ptrdiff_t>(lo - offset_),
              entries_.begin() + static_cast<ptrdiff_t>(hi - offset_));
}

}  // namespace etcpp::raft
