// The log as storage plus unstable tail, with commit and applied cursors (see raft_log.h).
#include "raft/raft_log.h"

#include <algorithm>

namespace etcpp::raft {

using base::Result;

RaftLog::RaftLog(Storage* storage, uint64_t committed_bytes_per_ready_max)
    : storage_(storage),
      unstable_(storage->LastIndex() + 1),
      committed_(storage->FirstIndex() - 1),
      applied_(storage->FirstIndex() - 1),
      committed_bytes_per_ready_max_(committed_bytes_per_ready_max) {}

uint64_t RaftLog::FirstIndex() const {
  if (auto i = unstable_.MaybeFirstIndex()) return *i;
  return storage_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (auto i = unstable_.MaybeLastIndex()) return *i;
  return storage_->LastIndex();
}

Result<uint64_t> RaftLog::Term(uint64_t index) const {
  // The valid range is [FirstIndex()-1, LastIndex()]: the entry before the first one is
  // the snapshot point, whose term is kept.
  const uint64_t dummy = FirstIndex() - 1;
  if (index < dummy) return CompactedError();
  if (index > LastIndex()) return UnavailableIndexError();
  if (auto t = unstable_.MaybeTerm(index)) return *t;
  return storage_->Term(index);
}

uint64_t RaftLog::LastTerm() const {
  Result<uint64_t> t = Term(LastIndex());
  ETCPP_ASSERT_MSG(t.ok(), "the last entry's term must always be known");
  return *t;
}

uint64_t RaftLog::ZeroTermOnError(uint64_t index) const {
  Result<uint64_t> t = Term(index);
  return t.ok() ? *t : 0;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  Result<uint64_t> t = Term(index);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  const uint64_t our_term = LastTerm();
  return last_term > our_term || (last_term == our_term && last_index >= LastIndex());
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             uint64_t leader_commit,
                                             std::vector<raftpb::Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const uint64_t last_new = prev_index + entries.size();
  const uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    // Replacing a committed entry would lose an acknowledged write: only a broken
    // leader (or log) could ask for it.
    ETCPP_ASSERT_MSG(conflict > committed_, "an append conflicts with a committed entry");
    const size_t from = conflict - (prev_index + 1);
    entries.erase(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(from));
    Append(std::move(entries));
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

uint64_t RaftLog::Append(std::vector<raftpb::Entry> entries) {
  if (entries.empty()) return LastIndex();
  ETCPP_ASSERT_MSG(entries.front().index() > committed_, "append below the commit index");
  ETCPP_ASSERT_MSG(entries.front().index() <= LastIndex() + 1, "append leaves a gap");
  unstable_.TruncateAndAppend(std::move(entries));
  return LastIndex();
}

uint64_t RaftLog::FindConflict(const std::vector<raftpb::Entry>& entries) const {
  for (const raftpb::Entry& e : entries) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

std::pair<uint64_t, uint64_t> RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  for (; index > 0; --index) {
    Result<uint64_t> t = Term(index);
    if (!t.ok()) return {index, 0};
    if (*t <= term) return {index, *t};
  }
  return {0, 0};
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term, bool allow_any_term_for_testing) {
  if (max_index <= committed_) return false;
  if (!allow_any_term_for_testing && ZeroTermOnError(max_index) != term) return false;
  CommitTo(max_index);
  return true;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;  // the commit index never moves back
  ETCPP_ASSERT_MSG(index <= LastIndex(), "commit beyond the last index");
  committed_ = index;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  ETCPP_ASSERT_MSG(index <= committed_ && index >= applied_, "applied index out of range");
  applied_ = index;
}

void RaftLog::Restore(const raftpb::Snapshot& snapshot) {
  committed_ = snapshot.metadata().index();
  unstable_.Restore(snapshot);
}

Result<std::vector<raftpb::Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  ETCPP_ASSERT(lo <= hi);
  if (lo < FirstIndex()) return CompactedError();
  ETCPP_ASSERT_MSG(hi <= LastIndex() + 1, "slice beyond the last index");
  std::vector<raftpb::Entry> out;
  if (lo == hi) return out;
  const uint64_t boundary = unstable_.offset();
  if (lo < boundary) {
    Result<std::vector<raftpb::Entry>> stored =
        storage_->Entries(lo, std::min(hi, boundary), max_bytes);
    if (!stored.ok()) return stored.status();
    out = std::move(*stored);
    // Storage stopped early because of the byte limit: do not go on into unstable.
    if (out.size() < std::min(hi, boundary) - lo) return out;
  }
  if (hi > boundary) {
    uint64_t bytes = 0;
    for (const raftpb::Entry& e : out) bytes += EntryBytes(e);
    for (uint64_t i = std::max(lo, boundary); i < hi; ++i) {
      const raftpb::Entry& e = unstable_.entries()[i - boundary];
      bytes += EntryBytes(e);
      if (!out.empty() && bytes > max_bytes) break;
      out.push_back(e);
    }
  }
  return out;
}

Result<std::vector<raftpb::Entry>> RaftLog::EntriesFrom(uint64_t lo, uint64_t max_bytes) const {
  if (lo > LastIndex()) return std::vector<raftpb::Entry>{};
  return Slice(lo, LastIndex() + 1, max_bytes);
}

Result<raftpb::Snapshot> RaftLog::Snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->Snapshot();
}

bool RaftLog::HasNextCommittedEntries() const {
  // Entries after a snapshot that is not installed yet cannot be applied before it.
  if (unstable_.snapshot()) return false;
  return committed_ > std::max(applied_, FirstIndex() - 1);
}

std::vector<raftpb::Entry> RaftLog::NextCommittedEntries() const {
  if (!HasNextCommittedEntries()) return {};
  const uint64_t lo = std::max(applied_ + 1, FirstIndex());
  Result<std::vector<raftpb::Entry>> entries =
      Slice(lo, committed_ + 1, committed_bytes_per_ready_max_);
  ETCPP_ASSERT_MSG(entries.ok(), "committed entries must be readable");
  return std::move(*entries);
}

}  // namespace etcpp::raft
