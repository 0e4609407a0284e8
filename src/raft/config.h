// Config: everything a raft member is told at construction. One Validate() checks it
// and fills defaults in one place. The Storage pointer is borrowed: it must outlive the
// RawNode built from this Config.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace etcpp::raft {

class Storage;

// Deliberate bugs that the deterministic simulator must detect; they exist to prove the
// simulator's checks have teeth. Never set outside tests.
enum class PlantedBug {
  kNone,
  kAmnesia,        // a restarted member forgets the term and vote it persisted
  kOldTermCommit,  // the leader commits earlier-term entries by counting replicas
  kNoLogCheck,     // votes ignore whether the candidate's log is up to date
};

struct Config {
  uint64_t id = 0;  // this member; never kNone

  // Logical clock. A follower that hears nothing for a random number of ticks in
  // [election_ticks, 2 * election_ticks) starts an election; a leader sends heartbeats
  // every heartbeat_ticks.
  int election_ticks = 10;
  int heartbeat_ticks = 1;

  Storage* storage = nullptr;

  // The last index the caller has applied to its state machine (on restart). Committed
  // entries after it are handed out again.
  uint64_t applied = 0;

  // Byte bound on the entries of one append message (at least one entry is sent even
  // if it alone is larger), and on the committed entries of one Ready.
  uint64_t append_bytes_max = 1 << 20;
  uint64_t committed_bytes_per_ready_max = 64 << 20;

  // The pipelining window per follower while replicating: append messages not yet
  // acknowledged, by count and by entry bytes (0 bytes = no byte limit).
  size_t inflight_messages_max = 256;
  uint64_t inflight_bytes_max = 0;

  // The leader refuses proposals while the entries it has not yet committed exceed
  // this many payload bytes (0 = no limit); bounds memory when followers are slow.
  uint64_t uncommitted_bytes_max = 0;

  // PreVote: a would-be candidate first asks whether it could win, without raising its
  // term, so a member returning from a partition does not depose a working leader.
  bool pre_vote = true;
  // CheckQuorum: a leader that has not heard from a quorum within an election timeout
  // steps down, and members that hear from a leader ignore vote requests meanwhile.
  bool check_quorum = true;

  uint64_t random_seed = 0;  // drives the randomized election timeouts

  PlantedBug planted_bug_for_testing = PlantedBug::kNone;

  base::Status Validate() const;
};

}  // namespace etcpp::raft
