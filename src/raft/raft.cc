// Raft: construction, term and role changes, elections and Step dispatch (see raft.h).
#include "raft/raft.h"

#include <algorithm>
#include <utility>

namespace etcpp::raft {

using base::Code;
using base::Status;
using raftpb::Message;

Status ProposalDroppedError() { return Status(Code::kUnavailable, "raft: proposal dropped"); }

Raft::Raft(const Config& config)
    : id_(config.id),
      config_(config),
      log_(config.storage, config.committed_bytes_per_ready_max),
      tracker_(config.inflight_messages_max, config.inflight_bytes_max),
      random_(config.random_seed ^ (config.id * 0x9e3779b97f4a7c15ULL)) {
  ETCPP_ASSERT(config.Validate().ok());
  base::Result<InitialState> initial = config.storage->GetInitialState();
  ETCPP_ASSERT_MSG(initial.ok(), "storage cannot read its initial state");
  tracker_.Reset(initial->conf_state, log_.LastIndex() + 1);
  const raftpb::HardState& hs = initial->hard_state;
  log_.CommitTo(hs.commit());
  if (config.planted_bug_for_testing == PlantedBug::kAmnesia) {
    // The planted bug: as if the hard state write had been lost, the member guesses its
    // term from its log and believes it has not voted.
    term_ = log_.LastTerm();
  } else {
    term_ = hs.term();
    vote_ = hs.vote();
  }
  if (config.applied > log_.applied()) log_.AppliedTo(config.applied);
  BecomeFollower(term_, kNone);
}

raftpb::HardState Raft::GetHardState() const {
  raftpb::HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

uint64_t Raft::RandomizedElectionTimeout() {
  const uint64_t base = static_cast<uint64_t>(config_.election_ticks);
  return base + random_.Below(base);
}

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_timeout_ = RandomizedElectionTimeout();
  AbortLeaderTransfer();
  tracker_.ResetVotes();
  const uint64_t last = log_.LastIndex();
  for (auto& [id, pr] : tracker_.progress()) {
    const bool learner = pr.learner;
    pr = Progress(last + 1, config_.inflight_messages_max, config_.inflight_bytes_max, learner);
    if (id == id_) pr.match = last;
  }
  pending_conf_index_ = 0;
  uncommitted_bytes_ = 0;
  read_only_.Clear();
  reads_before_first_commit_.clear();
  read_round_in_flight_ = false;
  append_to_broadcast_ = false;
  commit_to_broadcast_ = false;
}

void Raft::BecomeFollower(uint64_t term, uint64_t lead) {
  Reset(term);
  step_ = &Raft::StepFollower;
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  ETCPP_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // The term and vote stay as they are: a pre-vote changes nothing durable, which is
  // the point — a member that cannot win leaves no trace.
  step_ = &Raft::StepCandidate;
  tracker_.ResetVotes();
  lead_ = kNone;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  ETCPP_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot become a candidate");
  Reset(term_ + 1);
  step_ = &Raft::StepCandidate;
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  ETCPP_ASSERT_MSG(role_ != Role::kFollower, "a follower must campaign before leading");
  Reset(term_);
  step_ = &Raft::StepLeader;
  lead_ = id_;
  role_ = Role::kLeader;
  Progress* self = tracker_.Get(id_);
  ETCPP_ASSERT(self != nullptr);
  self->BecomeReplicate();
  self->recent_active = true;
  // Any conf change in the log may still be uncommitted; be conservative.
  pending_conf_index_ = log_.LastIndex();
  // An empty entry of the new term: committing it commits every earlier entry, which
  // the leader may not do by counting replicas of older terms.
  raftpb::Entry empty;
  const bool appended = AppendEntries({empty});
  ETCPP_ASSERT(appended);
}

bool Raft::Promotable() const { return tracker_.IsVoter(id_); }

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  const uint64_t lo = std::max(log_.applied() + 1, log_.FirstIndex());
  if (lo > log_.committed()) return false;
  base::Result<std::vector<raftpb::Entry>> entries =
      log_.Slice(lo, log_.committed() + 1, UINT64_MAX);
  if (!entries.ok()) return false;
  for (const raftpb::Entry& e : *entries) {
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) return true;
  }
  return false;
}

void Raft::Hup(bool transfer) {
  if (role_ == Role::kLeader || !Promotable()) return;
  // Our configuration may be out of date until those entries are applied; campaigning
  // under a stale configuration could ask the wrong voters.
  if (HasUnappliedConfChange()) return;
  Campaign(config_.pre_vote && !transfer, transfer);
}

void Raft::Campaign(bool pre_vote, bool transfer) {
  uint64_t term;
  raftpb::MessageType type;
  if (pre_vote) {
    BecomePreCandidate();
    type = raftpb::MSG_PRE_VOTE;
    term = term_ + 1;  // the term we would campaign in
  } else {
    BecomeCandidate();
    type = raftpb::MSG_VOTE;
    term = term_;
  }
  tracker_.RecordVote(id_, true);
  if (tracker_.TallyVotes() == VoteResult::kWon) {
    // A single voter wins at once.
    if (pre_vote) {
      Campaign(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  const uint64_t last_index = log_.LastIndex();
  const uint64_t last_term = log_.LastTerm();
  for (uint64_t voter : tracker_.voters().ids()) {
    if (voter == id_) continue;
    Message m;
    m.set_type(type);
    m.set_to(voter);
    m.set_term(term);
    m.set_index(last_index);
    m.set_log_term(last_term);
    if (transfer) m.set_context(kCampaignTransfer);
    Send(std::move(m));
  }
}

void Raft::Send(Message m) {
  m.set_from(id_);
  const raftpb::MessageType t = m.type();
  if (t == raftpb::MSG_VOTE || t == raftpb::MSG_VOTE_RESP || t == raftpb::MSG_PRE_VOTE ||
      t == raftpb::MSG_PRE_VOTE_RESP) {
    // Votes carry the term they are about, which for pre-votes is not ours.
    ETCPP_ASSERT_MSG(m.term() != 0, "vote message without a term");
  } else if (t != raftpb::MSG_PROP && t != raftpb::MSG_READ_INDEX) {
    // Proposals and read requests forwarded to the leader travel as local messages
    // (term 0): they are valid whatever term the leader is in.
    m.set_term(term_);
  }
  outbox.push_back(std::move(m));
}

Status Raft::StepByTerm(Message& m, bool* handled) {
  *handled = false;
  const raftpb::MessageType t = m.type();
  const bool vote_request = t == raftpb::MSG_VOTE || t == raftpb::MSG_PRE_VOTE;
  if (m.term() > term_) {
    if (vote_request) {
      const bool forced = m.context() == kCampaignTransfer;
      const bool in_lease = config_.check_quorum && lead_ != kNone &&
                            election_elapsed_ < static_cast<uint64_t>(config_.election_ticks);
      // We heard from a live leader within an election timeout: the requester is
      // probably a member that was cut off. Ignoring it keeps the cluster stable.
      if (in_lease && !forced) {
        *handled = true;
        return Status::Ok();
      }
    }
    if (t == raftpb::MSG_PRE_VOTE || (t == raftpb::MSG_PRE_VOTE_RESP && !m.reject())) {
      // A pre-vote (or a granted answer to ours) carries a term nobody is in yet.
    } else if (t == raftpb::MSG_APP || t == raftpb::MSG_HEARTBEAT || t == raftpb::MSG_SNAP) {
      BecomeFollower(m.term(), m.from());
    } else {
      BecomeFollower(m.term(), kNone);
    }
    return Status::Ok();
  }
  if (m.term() < term_) {
    *handled = true;
    if ((config_.check_quorum || config_.pre_vote) &&
        (t == raftpb::MSG_HEARTBEAT || t == raftpb::MSG_APP)) {
      // A deposed leader: tell it our term so it steps down. Without this, a leader cut
      // off by a partition can be ignored forever by members that pre-vote.
      Message resp;
      resp.set_type(raftpb::MSG_APP_RESP);
      resp.set_to(m.from());
      Send(std::move(resp));
    } else if (t == raftpb::MSG_PRE_VOTE) {
      Message resp;
      resp.set_type(raftpb::MSG_PRE_VOTE_RESP);
      resp.set_to(m.from());
      resp.set_term(term_);
      resp.set_reject(true);
      Send(std::move(resp));
    }
  }
  return Status::Ok();
}

Status Raft::Step(Message m) {
  if (m.term() != 0) {
    bool handled = false;
    Status s = StepByTerm(m, &handled);
    if (handled || !s.ok()) return s;
  }
  switch (m.type()) {
    case raftpb::MSG_HUP:
      Hup(false);
      return Status::Ok();
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE:
      HandleVoteRequest(m);
      return Status::Ok();
    default:
      return (this->*step_)(m);
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type() == raftpb::MSG_PRE_VOTE;
  const bool can_vote =
      vote_ == m.from() || (vote_ == kNone && lead_ == kNone) || (pre && m.term() > term_);
  const bool log_ok = config_.planted_bug_for_testing == PlantedBug::kNoLogCheck ||
                      log_.IsUpToDate(m.index(), m.log_term());
  Message resp;
  resp.set_type(pre ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP);
  resp.set_to(m.from());
  if (can_vote && log_ok) {
    // Answer in the requester's term: for a pre-vote that term is not ours, and the
    // requester only counts answers about the term it asked for.
    resp.set_term(m.term());
    Send(std::move(resp));
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
    Send(std::move(resp));
  }
}

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    Message m;
    m.set_type(raftpb::MSG_HUP);
    m.set_from(id_);
    (void)Step(std::move(m));
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= static_cast<uint64_t>(config_.election_ticks)) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      Message m;
      m.set_type(raftpb::MSG_CHECK_QUORUM);
      m.set_from(id_);
      (void)Step(std::move(m));
    }
    // A transfer that has not finished within an election timeout has failed; resume
    // accepting proposals.
    if (role_ == Role::kLeader) AbortLeaderTransfer();
  }
  if (role_ != Role::kLeader) return;
  if (heartbeat_elapsed_ >= static_cast<uint64_t>(config_.heartbeat_ticks)) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.set_type(raftpb::MSG_BEAT);
    m.set_from(id_);
    (void)Step(std::move(m));
  }
}

Status Raft::StepCandidate(Message& m) {
  const raftpb::MessageType my_response =
      role_ == Role::kPreCandidate ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
  switch (m.type()) {
    case raftpb::MSG_PROP:
    case raftpb::MSG_READ_INDEX:
      return ProposalDroppedError();
    case raftpb::MSG_APP:
      BecomeFollower(m.term(), m.from());
      HandleAppendEntries(m);
      return Status::Ok();
    case raftpb::MSG_HEARTBEAT:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return Status::Ok();
    case raftpb::MSG_SNAP:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(m);
      return Status::Ok();
    default:
      break;
  }
  if (m.type() != my_response) return Status::Ok();
  tracker_.RecordVote(m.from(), !m.reject());
  switch (tracker_.TallyVotes()) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        Campaign(false, false);
      } else {
        BecomeLeader();
        BroadcastAppend();
      }
      break;
    case VoteResult::kLost:
      BecomeFollower(term_, kNone);
      break;
    case VoteResult::kPending:
      break;
  }
  return Status::Ok();
}

Status Raft::StepFollower(Message& m) {
  switch (m.type()) {
    case raftpb::MSG_PROP:
    case raftpb::MSG_READ_INDEX:
      if (lead_ == kNone) return ProposalDroppedError();
      m.set_to(lead_);
      Send(std::move(m));
      return Status::Ok();
    case raftpb::MSG_APP:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleAppendEntries(m);
      return Status::Ok();
    case raftpb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      return Status::Ok();
    case raftpb::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleSnapshot(m);
      return Status::Ok();
    case raftpb::MSG_TRANSFER_LEADER:
      if (lead_ == kNone) return ProposalDroppedError();
      // Forwarded as is: `from` names the transferee, not us.
      m.set_to(lead_);
      m.set_term(term_);
      outbox.push_back(std::move(m));
      return Status::Ok();
    case raftpb::MSG_TIMEOUT_NOW:
      // The leader chose us: campaign at once, skipping the pre-vote and the lease.
      Hup(true);
      return Status::Ok();
    case raftpb::MSG_READ_INDEX_RESP:
      read_states.push_back(ReadState{m.index(), m.context()});
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

}  // namespace etcpp::raft
