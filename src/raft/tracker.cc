// Configuration, progress and votes (see tracker.h).
#include "raft/tracker.h"

namespace etcpp::raft {

using base::Code;
using base::Status;

void ProgressTracker::AddProgress(uint64_t id, uint64_t next_index, bool learner) {
  Progress pr(next_index, inflight_messages_max_, inflight_bytes_max_, learner);
  // A new member has had no chance to answer yet; counting it inactive would make
  // CheckQuorum depose a leader that just grew the cluster.
  pr.recent_active = true;
  progress_.insert_or_assign(id, std::move(pr));
}

void ProgressTracker::Reset(const raftpb::ConfState& cs, uint64_t next_index) {
  voters_ = MajorityConfig();
  learners_.clear();
  progress_.clear();
  votes_.clear();
  for (uint64_t id : cs.voters()) {
    voters_.Add(id);
    AddProgress(id, next_index, false);
  }
  for (uint64_t id : cs.learners()) {
    ETCPP_ASSERT_MSG(!voters_.Contains(id), "a member is both voter and learner");
    learners_.insert(id);
    AddProgress(id, next_index, true);
  }
}

Status ProgressTracker::ApplyConfChange(const raftpb::ConfChange& cc, uint64_t next_index) {
  const uint64_t id = cc.node_id();
  if (id == 0) return Status(Code::kInvalidArgument, "raft: conf change for node 0");
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
      if (voters_.Contains(id)) return Status::Ok();
      if (learners_.erase(id) != 0) {
        // Promotion keeps the learner's progress: it already has the log.
        progress_.at(id).learner = false;
      } else {
        AddProgress(id, next_index, false);
      }
      voters_.Add(id);
      return Status::Ok();
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      if (voters_.Contains(id)) {
        return Status(Code::kFailedPrecondition, "raft: demoting a voter needs joint consensus");
      }
      if (learners_.insert(id).second) AddProgress(id, next_index, true);
      return Status::Ok();
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      if (voters_.Contains(id) && voters_.size() == 1) {
        return Status(Code::kFailedPrecondition, "raft: removing the last voter");
      }
      voters_.Remove(id);
      learners_.erase(id);
      progress_.erase(id);
      votes_.erase(id);
      return Status::Ok();
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      return Status::Ok();  // the member's context is the application's business
    default:
      return Status(Code::kInvalidArgument, "raft: unknown conf change type");
  }
}

raftpb::ConfState ProgressTracker::GetConfState() const {
  raftpb::ConfState cs;
  for (uint64_t id : voters_.ids()) cs.add_voters(id);
  for (uint64_t id : learners_) cs.add_learners(id);
  return cs;
}

Progress* ProgressTracker::Get(uint64_t id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

uint64_t ProgressTracker::Committed() const {
  return voters_.CommittedIndex([this](uint64_t id) -> std::optional<uint64_t> {
    auto it = progress_.find(id);
    if (it == progress_.end()) return std::nullopt;
    return it->second.match;
  });
}

bool ProgressTracker::QuorumActive(uint64_t self) const {
  std::map<uint64_t, bool> active;
  for (const auto& [id, pr] : progress_) {
    if (!pr.learner) active[id] = id == self || pr.recent_active;
  }
  return voters_.Tally(active) == VoteResult::kWon;
}

void ProgressTracker::RecordVote(uint64_t id, bool granted) { votes_.emplace(id, granted); }

}  // namespace etcpp::raft
