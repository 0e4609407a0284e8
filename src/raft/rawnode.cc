// RawNode: Ready assembly and the public entry points (see rawnode.h).
#include "raft/rawnode.h"

#include <utility>

namespace etcpp::raft {

using base::Code;
using base::Result;
using base::Status;
using raftpb::Message;

namespace {

bool IsLocalMessage(raftpb::MessageType t) {
  return t == raftpb::MSG_HUP || t == raftpb::MSG_BEAT || t == raftpb::MSG_UNREACHABLE ||
         t == raftpb::MSG_SNAP_STATUS || t == raftpb::MSG_CHECK_QUORUM;
}

bool IsResponseMessage(raftpb::MessageType t) {
  return t == raftpb::MSG_APP_RESP || t == raftpb::MSG_VOTE_RESP ||
         t == raftpb::MSG_HEARTBEAT_RESP || t == raftpb::MSG_PRE_VOTE_RESP ||
         t == raftpb::MSG_READ_INDEX_RESP;
}

bool SameHardState(const raftpb::HardState& a, const raftpb::HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}

}  // namespace

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  ETCPP_RETURN_IF_ERROR(config.Validate());
  Result<InitialState> initial = config.storage->GetInitialState();
  if (!initial.ok()) return initial.status();
  return std::unique_ptr<RawNode>(new RawNode(config));
}

RawNode::RawNode(const Config& config) : raft_(config) {
  prev_soft_state_ = CurrentSoftState();
  prev_hard_state_ = raft_.GetHardState();
}

void RawNode::Tick() { raft_.Tick(); }

Status RawNode::Step(Message m) {
  if (IsLocalMessage(m.type())) {
    return Status(Code::kInvalidArgument, "raft: cannot step a local message from the network");
  }
  if (IsResponseMessage(m.type()) && !raft_.tracker().IsMember(m.from())) {
    return Status(Code::kNotFound, "raft: response from a peer outside the configuration");
  }
  return raft_.Step(std::move(m));
}

Status RawNode::StepLocal(raftpb::MessageType type, uint64_t from) {
  Message m;
  m.set_type(type);
  m.set_from(from);
  return raft_.Step(std::move(m));
}

void RawNode::Campaign() { (void)StepLocal(raftpb::MSG_HUP, raft_.id()); }

Status RawNode::Propose(std::string data) {
  Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_.id());
  m.add_entries()->set_data(std::move(data));
  return raft_.Step(std::move(m));
}

Status RawNode::ProposeConfChange(const raftpb::ConfChange& cc) {
  Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_.id());
  raftpb::Entry* e = m.add_entries();
  e->set_type(raftpb::ENTRY_CONF_CHANGE);
  e->set_data(cc.SerializeAsString());
  return raft_.Step(std::move(m));
}

Result<raftpb::ConfState> RawNode::ApplyConfChange(const raftpb::ConfChange& cc) {
  Status s = raft_.ApplyConfChange(cc);
  if (!s.ok()) return s;
  return raft_.tracker().GetConfState();
}

Status RawNode::ReadIndex(std::string context) {
  Message m;
  m.set_type(raftpb::MSG_READ_INDEX);
  m.set_from(raft_.id());
  m.set_context(std::move(context));
  return raft_.Step(std::move(m));
}

void RawNode::TransferLeader(uint64_t transferee) {
  (void)StepLocal(raftpb::MSG_TRANSFER_LEADER, transferee);
}

void RawNode::ReportUnreachable(uint64_t id) { (void)StepLocal(raftpb::MSG_UNREACHABLE, id); }

void RawNode::ReportSnapshot(uint64_t id, bool ok) {
  Message m;
  m.set_type(raftpb::MSG_SNAP_STATUS);
  m.set_from(id);
  m.set_reject(!ok);
  (void)raft_.Step(std::move(m));
}

bool RawNode::HasReady() const {
  const RaftLog& log = raft_.log();
  return !(CurrentSoftState() == prev_soft_state_) ||
         !SameHardState(raft_.GetHardState(), prev_hard_state_) || log.PendingSnapshot() ||
         !log.UnstableEntries().empty() || log.HasNextCommittedEntries() || !raft_.outbox.empty() ||
         !raft_.read_states.empty() || raft_.HasBroadcastPending();
}

Ready RawNode::GetReady() {
  ETCPP_ASSERT_MSG(!ready_outstanding_, "GetReady called again before Advance");
  ready_outstanding_ = true;
  raft_.FlushBroadcast();
  Ready rd;
  const SoftState soft = CurrentSoftState();
  if (!(soft == prev_soft_state_)) {
    rd.soft_state = soft;
    prev_soft_state_ = soft;
  }
  const raftpb::HardState hs = raft_.GetHardState();
  if (!SameHardState(hs, prev_hard_state_)) {
    rd.must_sync = hs.term() != prev_hard_state_.term() || hs.vote() != prev_hard_state_.vote();
    rd.hard_state = hs;
    prev_hard_state_ = hs;
  }
  RaftLog& log = raft_.log();
  rd.entries = log.UnstableEntries();
  if (!rd.entries.empty()) {
    rd.must_sync = true;
    handed_entries_ = std::make_pair(rd.entries.back().index(), rd.entries.back().term());
  }
  if (log.PendingSnapshot()) {
    rd.snapshot = *log.PendingSnapshot();
    handed_snapshot_index_ = rd.snapshot->metadata().index();
  }
  rd.committed_entries = log.NextCommittedEntries();
  if (!rd.committed_entries.empty()) {
    handed_committed_index_ = rd.committed_entries.back().index();
    handed_committed_bytes_ = 0;
    for (const raftpb::Entry& e : rd.committed_entries) handed_committed_bytes_ += PayloadBytes(e);
  }
  rd.messages = std::move(raft_.outbox);
  raft_.outbox.clear();
  rd.read_states = std::move(raft_.read_states);
  raft_.read_states.clear();
  return rd;
}

void RawNode::Advance() {
  ETCPP_ASSERT_MSG(ready_outstanding_, "Advance without a Ready");
  ready_outstanding_ = false;
  RaftLog& log = raft_.log();
  if (handed_entries_) log.StableTo(handed_entries_->first, handed_entries_->second);
  if (handed_snapshot_index_) {
    log.StableSnapshotTo(*handed_snapshot_index_);
    log.AppliedTo(*handed_snapshot_index_);
  }
  if (handed_committed_index_) {
    log.AppliedTo(*handed_committed_index_);
    raft_.ReduceUncommittedBytes(handed_committed_bytes_);
  }
  handed_entries_.reset();
  handed_snapshot_index_.reset();
  handed_committed_index_.reset();
}

BasicStatus RawNode::GetStatus() const {
  BasicStatus s;
  s.id = raft_.id();
  s.hard_state = raft_.GetHardState();
  s.soft_state = CurrentSoftState();
  s.applied = raft_.log().applied();
  s.last_index = raft_.log().LastIndex();
  s.lead_transferee = raft_.lead_transferee();
  return s;
}

}  // namespace etcpp::raft
