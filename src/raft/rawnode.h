// RawNode: the public face of the raft core. The caller — one thread, the raft loop —
// feeds it ticks, peer messages and proposals, and drains what it produced as a Ready:
//
//   while (node.HasReady()) {
//     Ready rd = node.GetReady();
//     persist rd.snapshot, rd.entries and rd.hard_state  (durably, in this order)
//     send rd.messages          (only after persisting: they promise what is on disk)
//     apply rd.committed_entries, calling ApplyConfChange for conf changes
//     node.Advance();
//   }
//
// Between GetReady() and Advance() the caller may not call GetReady() again. A leader
// may send its messages while its own entries are still being written (Raft thesis
// §10.2.1) as long as nothing is stepped and Advance() is not called before the write
// completes: the leader counts its own copy towards the commit index, and only an
// acknowledgement stepped after Advance() can complete a quorum. Nothing here does
// I/O, reads a clock or takes a lock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcpp/raftpb.pb.h"
#include "raft/config.h"
#include "raft/raft.h"
#include "raft/types.h"

namespace etcpp::raft {

struct SoftState {
  uint64_t leader = kNone;
  Role role = Role::kFollower;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

struct Ready {
  std::optional<SoftState> soft_state;          // set when leader or role changed
  std::optional<raftpb::HardState> hard_state;  // set when it changed: persist it
  std::vector<ReadState> read_states;
  std::vector<raftpb::Entry> entries;            // persist before sending messages
  std::optional<raftpb::Snapshot> snapshot;      // install (and persist) first
  std::vector<raftpb::Entry> committed_entries;  // apply in order
  std::vector<raftpb::Message> messages;
  // Whether the entries or hard state must reach stable storage before messages go
  // out (a vote or a term must never be forgotten after it was announced).
  bool must_sync = false;
};

// A summary for logs, tests and the simulator's checks.
struct BasicStatus {
  uint64_t id = 0;
  raftpb::HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t lead_transferee = kNone;
};

class RawNode {
 public:
  // Validates the config and reads the initial state from its storage.
  static base::Result<std::unique_ptr<RawNode>> Create(const Config& config);

  void Tick();
  // A message from a peer. Local-only message types are refused.
  base::Status Step(raftpb::Message m);
  // Starts an election now (subject to PreVote), as an election timeout would.
  void Campaign();
  base::Status Propose(std::string data);
  base::Status ProposeConfChange(const raftpb::ConfChange& cc);
  // Applies a committed conf change; returns the configuration that results. On an
  // invalid change the configuration is unchanged and the error says why.
  base::Result<raftpb::ConfState> ApplyConfChange(const raftpb::ConfChange& cc);
  // Asks for a linearizable read; a ReadState with this context appears in a later
  // Ready. Forwarded to the leader on followers.
  base::Status ReadIndex(std::string context);
  // Asks the leader (forwarded from followers) to hand leadership to `transferee`; it
  // catches the transferee up, then tells it to campaign. Proposals are refused until
  // the transfer ends or an election timeout passes.
  void TransferLeader(uint64_t transferee);
  // The transport could not reach `id`: the leader stops streaming to it and probes.
  void ReportUnreachable(uint64_t id);
  // The outcome of sending a MSG_SNAP to `id`. The caller must report every snapshot
  // it sends: until then the leader sends that follower nothing else.
  void ReportSnapshot(uint64_t id, bool ok);

  bool HasReady() const;
  Ready GetReady();
  void Advance();

  BasicStatus GetStatus() const;
  raftpb::ConfState GetConfState() const { return raft_.tracker().GetConfState(); }
  const Raft& raft() const { return raft_; }

 private:
  explicit RawNode(const Config& config);
  SoftState CurrentSoftState() const { return SoftState{raft_.leader(), raft_.role()}; }
  base::Status StepLocal(raftpb::MessageType type, uint64_t from);

  Raft raft_;
  SoftState prev_soft_state_;
  raftpb::HardState prev_hard_state_;
  bool ready_outstanding_ = false;
  // What the outstanding Ready handed out, for Advance().
  std::optional<std::pair<uint64_t, uint64_t>> handed_entries_;  // last (index, term)
  std::optional<uint64_t> handed_snapshot_index_;
  std::optional<uint64_t> handed_committed_index_;
  uint64_t handed_committed_bytes_ = 0;
};

}  // namespace etcpp::raft
