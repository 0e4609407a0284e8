// Raft: one member's consensus state machine — roles, terms, votes, the log and, on
// the leader, replication to every follower. It only reacts to Step() and Tick() and
// leaves its output in outbox (messages) and read_states; RawNode packages those and
// the log's changes as a Ready. No I/O, no clock, no threads; one caller at a time.
//
// The split over files: raft.cc (construction, term and role changes, elections,
// Step dispatch), raft_leader.cc (replication, commit, heartbeats, reads, transfer),
// raft_follower.cc (appends, heartbeats and snapshots as received by followers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"
#include "raft/config.h"
#include "raft/raft_log.h"
#include "raft/read_only.h"
#include "raft/tracker.h"
#include "raft/types.h"

namespace etcpp::raft {

// A linearizable read may be served once the applied index reaches `index`.
struct ReadState {
  uint64_t index = 0;
  std::string context;
};

// Context of vote requests sent on a leadership transfer: they bypass the leader lease
// (CheckQuorum), because the old leader asked for them.
inline constexpr char kCampaignTransfer[] = "CampaignTransfer";

base::Status ProposalDroppedError();

class Raft {
 public:
  // `config` must have passed Validate(); reads the initial state from its storage.
  explicit Raft(const Config& config);

  base::Status Step(raftpb::Message m);
  void Tick();
  // Applies a committed conf change to the configuration (see ProgressTracker).
  base::Status ApplyConfChange(const raftpb::ConfChange& cc);
  // The caller applied committed entries of this many payload bytes: they no longer
  // count against the uncommitted bound.
  void ReduceUncommittedBytes(uint64_t bytes);

  // New entries and commit progress are sent to followers once per Ready rather than
  // once per proposal or acknowledgement: under load many of them arrive between two
  // Readys, and one append per follower then carries them all (the batching that
  // makes replication cheap).
  bool HasBroadcastPending() const { return append_to_broadcast_ || commit_to_broadcast_; }
  void FlushBroadcast();

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t leader() const { return lead_; }
  Role role() const { return role_; }
  uint64_t lead_transferee() const { return lead_transferee_; }
  raftpb::HardState GetHardState() const;
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  ProgressTracker& tracker() { return tracker_; }
  const ProgressTracker& tracker() const { return tracker_; }

  std::vector<raftpb::Message> outbox;
  std::vector<ReadState> read_states;

 private:
  using Handler = base::Status (Raft::*)(raftpb::Message&);

  // raft.cc
  void Reset(uint64_t term);
  void BecomeFollower(uint64_t term, uint64_t lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  bool Promotable() const;
  bool HasUnappliedConfChange() const;
  void Hup(bool transfer);
  void Campaign(bool pre_vote, bool transfer);
  base::Status StepByTerm(raftpb::Message& m, bool* handled);
  void HandleVoteRequest(const raftpb::Message& m);
  void Send(raftpb::Message m);
  void TickElection();
  void TickHeartbeat();
  base::Status StepCandidate(raftpb::Message& m);
  base::Status StepFollower(raftpb::Message& m);
  uint64_t RandomizedElectionTimeout();

  // raft_leader.cc
  base::Status StepLeader(raftpb::Message& m);
  base::Status StepLeaderFromPeer(raftpb::Message& m, Progress& pr);
  base::Status HandlePropose(raftpb::Message& m);
  bool AppendEntries(std::vector<raftpb::Entry> entries);
  bool SendAppend(uint64_t to, bool send_if_empty);
  bool SendSnapshot(uint64_t to, Progress& pr);
  void SendHeartbeat(uint64_t to, const std::string& context);
  void BroadcastAppend();
  void BroadcastHeartbeat(const std::string& context);
  bool MaybeCommit();
  void HandleAppendResponse(const raftpb::Message& m, Progress& pr);
  void HandleHeartbeatResponse(const raftpb::Message& m, Progress& pr);
  void HandleTransferLeader(const raftpb::Message& m);
  void HandleReadIndex(raftpb::Message& m);
  void ReleaseReads(const std::string& context);
  void RespondToRead(const ReadIndexRequest& req);
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }
  bool CommittedEntryInCurrentTerm() const;

  // raft_follower.cc
  void HandleAppendEntries(raftpb::Message& m);
  void HandleHeartbeat(const raftpb::Message& m);
  void HandleSnapshot(const raftpb::Message& m);
  bool Restore(const raftpb::Snapshot& snapshot);

  const uint64_t id_;
  const Config config_;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  Random random_;

  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  Role role_ = Role::kFollower;
  Handler step_ = &Raft::StepFollower;

  // Ticks since the last election timeout reset (followers, candidates) or since the
  // last CheckQuorum (leader); heartbeat ticks on the leader.
  uint64_t election_elapsed_ = 0;
  uint64_t heartbeat_elapsed_ = 0;
  uint64_t randomized_election_timeout_ = 0;

  uint64_t lead_transferee_ = kNone;
  // The index of the latest conf change the leader appended; a new one is refused
  // until the log is applied past it (the single-step rule).
  uint64_t pending_conf_index_ = 0;
  uint64_t uncommitted_bytes_ = 0;
  // ReadIndex requests that arrived before this leader committed an entry of its own
  // term; until then its commit index may lag what earlier leaders committed.
  std::vector<raftpb::Message> reads_before_first_commit_;
  bool read_round_in_flight_ = false;
  bool append_to_broadcast_ = false;
  bool commit_to_broadcast_ = false;
};

}  // namespace etcpp::raft
