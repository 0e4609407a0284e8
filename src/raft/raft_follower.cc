// The follower's half of Raft (see raft.h): appends, heartbeats and snapshots as
// received from the leader, and the answers that drive the leader's Progress.
#include <algorithm>
#include <utility>

#include "raft/raft.h"

namespace etcpp::raft {

using raftpb::Message;

void Raft::HandleAppendEntries(Message& m) {
  Message resp;
  resp.set_type(raftpb::MSG_APP_RESP);
  resp.set_to(m.from());
  if (m.index() < log_.committed()) {
    // Everything up to our commit index already matches the leader (it was committed
    // in an earlier or this term); tell the leader where we stand.
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return;
  }
  std::vector<raftpb::Entry> entries;
  entries.reserve(static_cast<size_t>(m.entries_size()));
  for (raftpb::Entry& e : *m.mutable_entries()) entries.push_back(std::move(e));
  const std::optional<uint64_t> last_new =
      log_.MaybeAppend(m.index(), m.log_term(), m.commit(), std::move(entries));
  if (last_new) {
    resp.set_index(*last_new);
    Send(std::move(resp));
    return;
  }
  // Mismatch at m.index(). Hint the last index at or below it whose term is no later
  // than the leader's term there: every entry after it in our log is from a term the
  // leader does not have at that place, so the leader can skip them all at once.
  const uint64_t hint_index = std::min(m.index(), log_.LastIndex());
  const auto [index, term] = log_.FindConflictByTerm(hint_index, m.log_term());
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(index);
  resp.set_log_term(term);
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(m.commit());
  Message resp;
  resp.set_type(raftpb::MSG_HEARTBEAT_RESP);
  resp.set_to(m.from());
  resp.set_context(m.context());
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  Message resp;
  resp.set_type(raftpb::MSG_APP_RESP);
  resp.set_to(m.from());
  if (Restore(m.snapshot())) {
    resp.set_index(log_.LastIndex());
  } else {
    resp.set_index(log_.committed());
  }
  Send(std::move(resp));
}

bool Raft::Restore(const raftpb::Snapshot& snapshot) {
  const raftpb::SnapshotMetadata& meta = snapshot.metadata();
  if (meta.index() <= log_.committed()) return false;
  ETCPP_ASSERT_MSG(role_ == Role::kFollower, "only a follower installs a snapshot");
  if (log_.MatchTerm(meta.index(), meta.term())) {
    // We already hold that entry: by log matching we hold everything before it too, so
    // only the commit index moves.
    log_.CommitTo(meta.index());
    return false;
  }
  log_.Restore(snapshot);
  tracker_.Reset(meta.conf_state(), log_.LastIndex() + 1);
  return true;
}

}  // namespace etcpp::raft
