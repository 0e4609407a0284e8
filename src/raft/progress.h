// Progress: what a leader knows about one follower's log, and how it sends to it.
//
//   probe     — the follower's log position is unknown; send one append, then wait for
//               its answer (or the next heartbeat response) before sending another.
//   replicate — the follower is known to match up to `match`; stream appends
//               optimistically (next runs ahead of match), bounded by an in-flight
//               window of messages and bytes.
//   snapshot  — the follower needs entries that are compacted; a snapshot was sent and
//               nothing else is sent until it is acknowledged or reported failed.
//
// Invariant: match < next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace etcpp::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };

// Inflights: the append messages sent in replicate state and not yet acknowledged,
// each remembered by its last index and entry bytes; full when either bound is hit.
class Inflights {
 public:
  Inflights(size_t messages_max, uint64_t bytes_max)
      : messages_max_(messages_max), bytes_max_(bytes_max) {}

  void Add(uint64_t last_index, uint64_t bytes);
  // The follower acknowledged everything up to index: release those messages.
  void FreeLE(uint64_t index);
  void FreeFirstOne();
  bool Full() const;
  size_t Count() const { return items_.size(); }
  uint64_t Bytes() const { return bytes_; }
  void Reset();

 private:
  struct Item {
    uint64_t last_index;
    uint64_t bytes;
  };
  std::deque<Item> items_;
  uint64_t bytes_ = 0;
  size_t messages_max_;
  uint64_t bytes_max_;  // 0 = no byte bound
};

class Progress {
 public:
  Progress(uint64_t next, size_t inflight_messages_max, uint64_t inflight_bytes_max, bool learner)
      : next(next), learner(learner), inflights(inflight_messages_max, inflight_bytes_max) {}

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // The leader sent `count` entries (bytes in total) starting at next; in replicate
  // state next moves past them at once, in probe state sending pauses.
  void SentEntries(size_t count, uint64_t bytes);
  // The follower acknowledged index n. Returns whether match moved.
  bool MaybeUpdate(uint64_t n);
  // The follower rejected an append at `rejected`, hinting that its log may match at
  // `match_hint`. Returns false for a stale rejection that must be ignored.
  bool MaybeDecreaseTo(uint64_t rejected, uint64_t match_hint);
  bool IsPaused() const;

  uint64_t match = 0;
  uint64_t next;
  ProgressState state = ProgressState::kProbe;
  uint64_t pending_snapshot = 0;  // index of the snapshot in flight (snapshot state)
  bool recent_active = false;     // heard from within the last CheckQuorum period
  bool probe_sent = false;        // probe state: an append is out, wait before the next
  bool learner;
  Inflights inflights;
};

}  // namespace etcpp::raft
