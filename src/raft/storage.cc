// Storage errors and the in-memory Storage (see storage.h).
#include "raft/storage.h"

#include <iterator>
#include <utility>

namespace etcpp::raft {

using base::Code;
using base::Result;
using base::Status;

Status CompactedError() { return Status(Code::kOutOfRange, "raft: requested index is compacted"); }
Status UnavailableIndexError() {
  return Status(Code::kNotFound, "raft: requested entry is past the last index");
}

MemoryStorage::MemoryStorage() { entries_.emplace_back(); }

Result<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

Result<std::vector<raftpb::Entry>> MemoryStorage::Entries(uint64_t lo, uint64_t hi,
                                                          uint64_t max_bytes) const {
  ETCPP_ASSERT(lo <= hi);
  if (lo <= Offset()) return CompactedError();
  if (hi > LastIndex() + 1) return UnavailableIndexError();
  std::vector<raftpb::Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const raftpb::Entry& e = entries_[i - Offset()];
    bytes += EntryBytes(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> MemoryStorage::Term(uint64_t index) const {
  if (index < Offset()) return CompactedError();
  if (index - Offset() >= entries_.size()) return UnavailableIndexError();
  return entries_[index - Offset()].term();
}

uint64_t MemoryStorage::FirstIndex() const { return Offset() + 1; }
uint64_t MemoryStorage::LastIndex() const { return Offset() + entries_.size() - 1; }

Result<raftpb::Snapshot> MemoryStorage::Snapshot() const { return snapshot_; }

Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snapshot) {
  if (snapshot.metadata().index() <= snapshot_.metadata().index()) {
    return Status(Code::kFailedPrecondition, "raft: snapshot is out of date");
  }
  snapshot_ = snapshot;
  entries_.clear();
  entries_.emplace_back();
  entries_[0].set_index(snapshot.metadata().index());
  entries_[0].set_term(snapshot.metadata().term());
  return Status::Ok();
}

Result<raftpb::Snapshot> MemoryStorage::CreateSnapshot(uint64_t index, const raftpb::ConfState& cs,
                                                       std::string data) {
  if (index <= snapshot_.metadata().index()) {
    return Status(Code::kFailedPrecondition, "raft: snapshot is out of date");
  }
  ETCPP_ASSERT_MSG(index <= LastIndex(), "snapshot index beyond the last log index");
  snapshot_.mutable_metadata()->set_index(index);
  snapshot_.mutable_metadata()->set_term(entries_[index - Offset()].term());
  *snapshot_.mutable_metadata()->mutable_conf_state() = cs;
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

Status MemoryStorage::Compact(uint64_t index) {
  if (index <= Offset()) return CompactedError();
  ETCPP_ASSERT_MSG(index <= LastIndex(), "compaction beyond the last log index");
  const uint64_t drop = index - Offset();
  // Keep the entry at `index` as the new snapshot point: it answers Term(index).
  raftpb::Entry point;
  point.set_index(index);
  point.set_term(entries_[drop].term());
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(drop));
  entries_[0] = std::move(point);
  return Status::Ok();
}

Status MemoryStorage::Append(std::vector<raftpb::Entry> entries) {
  if (entries.empty()) return Status::Ok();
  const uint64_t first = entries.front().index();
  for (size_t i = 1; i < entries.size(); ++i) {
    ETCPP_ASSERT_MSG(entries[i].index() == first + i, "appended entries are not contiguous");
  }
  const uint64_t last = entries.back().index();
  // Entries entirely covered by the snapshot are already applied; skip them.
  if (last < FirstIndex()) return Status::Ok();
  size_t skip = 0;
  if (first < FirstIndex()) skip = FirstIndex() - first;
  const uint64_t start = first + skip;
  if (start > LastIndex() + 1) {
    return Status(Code::kFailedPrecondition, "raft: appended entries leave a gap in the log");
  }
  entries_.resize(start - Offset());
  entries_.insert(entries_.end(),
                  std::make_move_iterator(entries.begin() + static_cast<ptrdiff_t>(skip)),
                  std::make_move_iterator(entries.end()));
  return Status::Ok();
}

}  // namespace etcpp::raft
