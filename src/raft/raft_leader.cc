// The leader's half of Raft (see raft.h): proposals, replication with per-follower
// progress, commit, heartbeats, ReadIndex, leadership transfer, conf changes.
#include <algorithm>
#include <utility>

#include "raft/raft.h"

namespace etcpp::raft {

using base::Code;
using base::Status;
using raftpb::Message;

Status Raft::StepLeader(Message& m) {
  switch (m.type()) {
    case raftpb::MSG_BEAT: {
      const std::string* ctx = read_only_.LastPendingContext();
      BroadcastHeartbeat(ctx ? *ctx : std::string());
      if (ctx) read_round_in_flight_ = true;
      return Status::Ok();
    }
    case raftpb::MSG_CHECK_QUORUM:
      if (!tracker_.QuorumActive(id_)) {
        BecomeFollower(term_, kNone);
        return Status::Ok();
      }
      for (auto& [id, pr] : tracker_.progress()) {
        if (id != id_) pr.recent_active = false;
      }
      return Status::Ok();
    case raftpb::MSG_PROP:
      return HandlePropose(m);
    case raftpb::MSG_READ_INDEX:
      HandleReadIndex(m);
      return Status::Ok();
    case raftpb::MSG_TRANSFER_LEADER:
      HandleTransferLeader(m);
      return Status::Ok();
    default:
      break;
  }
  Progress* pr = tracker_.Get(m.from());
  if (pr == nullptr) return Status::Ok();  // not (or no longer) a member
  return StepLeaderFromPeer(m, *pr);
}

Status Raft::StepLeaderFromPeer(Message& m, Progress& pr) {
  switch (m.type()) {
    case raftpb::MSG_APP_RESP:
      HandleAppendResponse(m, pr);
      break;
    case raftpb::MSG_HEARTBEAT_RESP:
      HandleHeartbeatResponse(m, pr);
      break;
    case raftpb::MSG_SNAP_STATUS:
      if (pr.state != ProgressState::kSnapshot) break;
      // On failure the follower has nothing new; on success it will answer with an
      // append response. Either way, wait for a heartbeat response before probing.
      if (m.reject()) pr.pending_snapshot = 0;
      pr.BecomeProbe();
      pr.probe_sent = true;
      break;
    case raftpb::MSG_UNREACHABLE:
      // Appends were probably lost; stop streaming and find out where it stands.
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status Raft::HandlePropose(Message& m) {
  ETCPP_ASSERT_MSG(m.entries_size() > 0, "empty proposal");
  if (!tracker_.IsMember(id_)) return ProposalDroppedError();    // removed from the cluster
  if (lead_transferee_ != kNone) return ProposalDroppedError();  // handing over
  std::vector<raftpb::Entry> entries;
  entries.reserve(static_cast<size_t>(m.entries_size()));
  uint64_t conf_index = 0;
  for (int i = 0; i < m.entries_size(); ++i) {
    if (m.entries(i).type() == raftpb::ENTRY_CONF_CHANGE) {
      if (pending_conf_index_ > log_.applied() || conf_index != 0) {
        return Status(Code::kFailedPrecondition, "raft: a configuration change is already pending");
      }
      conf_index = log_.LastIndex() + static_cast<uint64_t>(i) + 1;
    }
    entries.push_back(std::move(*m.mutable_entries(i)));
  }
  if (!AppendEntries(std::move(entries))) return ProposalDroppedError();
  if (conf_index != 0) pending_conf_index_ = conf_index;
  append_to_broadcast_ = true;
  return Status::Ok();
}

bool Raft::AppendEntries(std::vector<raftpb::Entry> entries) {
  uint64_t bytes = 0;
  for (const raftpb::Entry& e : entries) bytes += PayloadBytes(e);
  // Always let one batch through when nothing is outstanding, so an entry larger than
  // the bound cannot block the leader forever.
  if (config_.uncommitted_bytes_max != 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + bytes > config_.uncommitted_bytes_max) {
    return false;
  }
  uncommitted_bytes_ += bytes;
  uint64_t index = log_.LastIndex();
  for (raftpb::Entry& e : entries) {
    e.set_term(term_);
    e.set_index(++index);
  }
  const uint64_t last = log_.Append(std::move(entries));
  tracker_.Get(id_)->MaybeUpdate(last);
  // A single voter commits on its own.
  MaybeCommit();
  return true;
}

void Raft::ReduceUncommittedBytes(uint64_t bytes) {
  if (role_ != Role::kLeader) return;
  uncommitted_bytes_ = bytes > uncommitted_bytes_ ? 0 : uncommitted_bytes_ - bytes;
}

bool Raft::SendAppend(uint64_t to, bool send_if_empty) {
  Progress* pr = tracker_.Get(to);
  ETCPP_ASSERT(pr != nullptr);
  if (pr->IsPaused()) return false;
  const uint64_t prev_index = pr->next - 1;
  base::Result<uint64_t> prev_term = log_.Term(prev_index);
  base::Result<std::vector<raftpb::Entry>> entries =
      log_.EntriesFrom(pr->next, config_.append_bytes_max);
  if (!prev_term.ok() || !entries.ok()) return SendSnapshot(to, *pr);
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_to(to);
  m.set_index(prev_index);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  uint64_t bytes = 0;
  m.mutable_entries()->Reserve(static_cast<int>(entries->size()));
  for (raftpb::Entry& e : *entries) {
    bytes += EntryBytes(e);
    *m.add_entries() = std::move(e);
  }
  pr->SentEntries(entries->size(), bytes);
  Send(std::move(m));
  return true;
}

bool Raft::SendSnapshot(uint64_t to, Progress& pr) {
  // A follower we have not heard from may be down; a snapshot can be large, so wait
  // until it answers something.
  if (!pr.recent_active) return false;
  base::Result<raftpb::Snapshot> snapshot = log_.Snapshot();
  if (!snapshot.ok()) return false;  // being built; a later heartbeat retries
  ETCPP_ASSERT_MSG(snapshot->metadata().index() != 0, "compacted log without a snapshot");
  pr.BecomeSnapshot(snapshot->metadata().index());
  Message m;
  m.set_type(raftpb::MSG_SNAP);
  m.set_to(to);
  *m.mutable_snapshot() = std::move(*snapshot);
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(uint64_t to, const std::string& context) {
  // Never tell a follower to commit past what it is known to hold: its log beyond
  // `match` may still differ from ours.
  const Progress* pr = tracker_.Get(to);
  Message m;
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_to(to);
  m.set_commit(std::min(pr->match, log_.committed()));
  m.set_context(context);
  Send(std::move(m));
}

void Raft::BroadcastAppend() {
  for (const auto& entry : tracker_.progress()) {
    if (entry.first != id_) SendAppend(entry.first, true);
  }
}

void Raft::FlushBroadcast() {
  if (!HasBroadcastPending()) return;
  // An empty append is only worth sending to announce a new commit index.
  const bool send_if_empty = commit_to_broadcast_;
  append_to_broadcast_ = false;
  commit_to_broadcast_ = false;
  if (role_ != Role::kLeader) return;
  for (const auto& entry : tracker_.progress()) {
    if (entry.first != id_) SendAppend(entry.first, send_if_empty);
  }
}

void Raft::BroadcastHeartbeat(const std::string& context) {
  for (const auto& entry : tracker_.progress()) {
    if (entry.first != id_) SendHeartbeat(entry.first, context);
  }
}

bool Raft::MaybeCommit() {
  const bool any_term = config_.planted_bug_for_testing == PlantedBug::kOldTermCommit;
  const uint64_t before = log_.committed();
  if (!log_.MaybeCommit(std::min(tracker_.Committed(), log_.LastIndex()), term_, any_term)) {
    return false;
  }
  // The first commit of our term makes our commit index authoritative: reads that
  // were waiting for it can proceed.
  if (log_.ZeroTermOnError(before) != term_ && CommittedEntryInCurrentTerm()) {
    std::vector<Message> waiting = std::move(reads_before_first_commit_);
    reads_before_first_commit_.clear();
    for (Message& m : waiting) HandleReadIndex(m);
  }
  return true;
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.ZeroTermOnError(log_.committed()) == term_;
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.reject()) {
    // The follower's hint names the last index of a term no later than ours at that
    // point; skip to where our log has such a term, a whole term per round trip.
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term()).first;
    if (pr.MaybeDecreaseTo(m.index(), next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from(), true);
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  const bool probe_matched = pr.state == ProgressState::kProbe && pr.match == m.index();
  if (!pr.MaybeUpdate(m.index()) && !probe_matched) return;
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match + 1 >= log_.FirstIndex()) {
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeLE(m.index());
      break;
  }
  if (MaybeCommit()) {
    commit_to_broadcast_ = true;
  } else if (was_paused) {
    SendAppend(m.from(), true);
  }
  // Fill the window: pipelining is what makes replication fast.
  while (SendAppend(m.from(), false)) {
  }
  if (m.from() == lead_transferee_ && pr.match == log_.LastIndex()) {
    Message timeout;
    timeout.set_type(raftpb::MSG_TIMEOUT_NOW);
    timeout.set_to(m.from());
    Send(std::move(timeout));
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.probe_sent = false;
  // A full window may mean acknowledgements were lost; let one append through so the
  // follower's answer can resynchronise us.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirstOne();
  if (pr.match < log_.LastIndex()) SendAppend(m.from(), true);
  if (m.context().empty()) return;
  const std::set<uint64_t>* acks = read_only_.RecordAck(m.from(), m.context());
  if (acks == nullptr) return;
  std::map<uint64_t, bool> votes;
  for (uint64_t id : *acks) votes[id] = true;
  if (tracker_.voters().Tally(votes) == VoteResult::kWon) ReleaseReads(m.context());
}

void Raft::HandleReadIndex(Message& m) {
  if (tracker_.voters().size() == 1 && tracker_.IsVoter(id_)) {
    RespondToRead(ReadIndexRequest{m.context(), m.from(), log_.committed()});
    return;
  }
  if (!CommittedEntryInCurrentTerm()) {
    reads_before_first_commit_.push_back(std::move(m));
    return;
  }
  if (!read_only_.Add(log_.committed(), m.from(), m.context())) return;
  read_only_.RecordAck(id_, m.context());
  // One heartbeat round at a time: reads arriving while it is out are confirmed
  // together by the next round.
  if (!read_round_in_flight_) {
    BroadcastHeartbeat(m.context());
    read_round_in_flight_ = true;
  }
}

void Raft::ReleaseReads(const std::string& context) {
  for (const ReadIndexRequest& req : read_only_.ReleaseThrough(context)) RespondToRead(req);
  read_round_in_flight_ = false;
  if (const std::string* next = read_only_.LastPendingContext()) {
    BroadcastHeartbeat(*next);
    read_round_in_flight_ = true;
  }
}

void Raft::RespondToRead(const ReadIndexRequest& req) {
  if (req.from == kNone || req.from == id_) {
    read_states.push_back(ReadState{req.index, req.context});
    return;
  }
  Message m;
  m.set_type(raftpb::MSG_READ_INDEX_RESP);
  m.set_to(req.from);
  m.set_index(req.index);
  m.set_context(req.context);
  Send(std::move(m));
}

void Raft::HandleTransferLeader(const Message& m) {
  const uint64_t transferee = m.from();
  const Progress* pr = tracker_.Get(transferee);
  if (pr == nullptr || pr->learner || transferee == id_) return;
  if (lead_transferee_ == transferee) return;  // already under way
  AbortLeaderTransfer();
  // The transfer must finish within an election timeout (see TickHeartbeat).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr->match == log_.LastIndex()) {
    Message timeout;
    timeout.set_type(raftpb::MSG_TIMEOUT_NOW);
    timeout.set_to(transferee);
    Send(std::move(timeout));
  } else {
    SendAppend(transferee, true);
  }
}

Status Raft::ApplyConfChange(const raftpb::ConfChange& cc) {
  ETCPP_RETURN_IF_ERROR(tracker_.ApplyConfChange(cc, log_.LastIndex() + 1));
  if (role_ != Role::kLeader) return Status::Ok();
  if (!tracker_.IsMember(id_)) {
    // Removed: a leader outside the configuration must not go on deciding for it.
    BecomeFollower(term_, kNone);
    return Status::Ok();
  }
  if (lead_transferee_ != kNone && !tracker_.IsVoter(lead_transferee_)) AbortLeaderTransfer();
  // With fewer voters the quorum may already hold more entries.
  if (MaybeCommit()) BroadcastAppend();
  return Status::Ok();
}

}  // namespace etcpp::raft
