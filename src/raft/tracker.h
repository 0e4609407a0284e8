// ProgressTracker: the current configuration (voters and learners), the leader's
// Progress for every member, and the votes of an election in progress.
//
// Invariants: every voter and every learner has exactly one Progress; no id is both
// a voter and a learner. Learners receive the log but are in no quorum.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"
#include "raft/progress.h"
#include "raft/quorum.h"

namespace etcpp::raft {

class ProgressTracker {
 public:
  ProgressTracker(size_t inflight_messages_max, uint64_t inflight_bytes_max)
      : inflight_messages_max_(inflight_messages_max), inflight_bytes_max_(inflight_bytes_max) {}

  // Replaces the configuration (from a snapshot or on start); progress is reset with
  // next = next_index.
  void Reset(const raftpb::ConfState& cs, uint64_t next_index);
  // One single-step change (at most one voter added or removed). Refuses changes that
  // would leave no voter or that demote a voter; the configuration is then unchanged.
  base::Status ApplyConfChange(const raftpb::ConfChange& cc, uint64_t next_index);

  raftpb::ConfState GetConfState() const;
  bool IsVoter(uint64_t id) const { return voters_.Contains(id); }
  bool IsLearner(uint64_t id) const { return learners_.count(id) != 0; }
  bool IsMember(uint64_t id) const { return progress_.count(id) != 0; }
  const MajorityConfig& voters() const { return voters_; }

  Progress* Get(uint64_t id);
  std::map<uint64_t, Progress>& progress() { return progress_; }
  const std::map<uint64_t, Progress>& progress() const { return progress_; }

  // The largest index a majority of voters has acknowledged.
  uint64_t Committed() const;
  // Whether a majority of voters was heard from recently (the leader counts itself).
  bool QuorumActive(uint64_t self) const;

  void RecordVote(uint64_t id, bool granted);
  VoteResult TallyVotes() const { return voters_.Tally(votes_); }
  void ResetVotes() { votes_.clear(); }

 private:
  void AddProgress(uint64_t id, uint64_t next_index, bool learner);

  MajorityConfig voters_;
  std::set<uint64_t> learners_;
  std::map<uint64_t, Progress> progress_;  // ordered: message order is deterministic
  std::map<uint64_t, bool> votes_;
  size_t inflight_messages_max_;
  uint64_t inflight_bytes_max_;
};

}  // namespace etcpp::raft
