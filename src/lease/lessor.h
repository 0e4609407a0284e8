// Lessor: etcd's leases — an id, a TTL in seconds, an expiry, and the keys attached to
// it. Deleting the attached keys when a lease is revoked is the server's job (it owns
// the MVCC store); the lessor decides *which* leases are due and remembers the keys.
//
// Who decides expiry: only the primary (the raft leader) keeps real expiries. A
// follower's leases never expire (etcd's "forever"); when it is promoted every lease
// is refreshed to now + its TTL (or its last checkpointed remaining TTL) + `extend`
// (an election timeout), so a leader change never expires a lease early. The primary
// proposes a revoke for each expired lease through raft, so every member deletes the
// keys at the same revision. Remaining TTLs are checkpointed through raft every
// `checkpoint_interval` (etcd's LeaseCheckpoint) so a new leader starts from them
// rather than from the full TTL.
//
// Keys are attached lazily: a put with a lease attaches its key, but overwriting or
// deleting the key does not detach it. Whoever uses Keys() must keep only the keys
// whose current lease is still this one (the server checks the store). A stale entry
// lives only as long as its lease.
//
// Persistence: the backend's `lease` bucket holds one record per lease, key = the id
// as 8 bytes big-endian, value = id, TTL and remaining TTL as 8 bytes big-endian each
// (24 bytes). Expiries are never persisted: a restarted member is a follower until
// promoted. Attachments are rebuilt from the key bucket by the server.
//
// Threads: every method may be called from any thread (one mutex), but those that
// write the backend (Grant, Revoke, Checkpoint) only from the backend's owner. Time
// is passed in, never read, so tests drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/backend/backend.h"

namespace etcpp::lease {

using Clock = std::chrono::steady_clock;
using LeaseId = int64_t;

// etcd's MaxLeaseTTL, in seconds.
inline constexpr int64_t kMaxTtlSeconds = 9000000000;

struct Config {
  int64_t min_ttl_seconds = 1;  // a smaller granted TTL is raised to it
  std::chrono::milliseconds checkpoint_interval{5 * 60 * 1000};
  // How long the primary waits before proposing again the revoke of a lease that is
  // still there (the proposal may have been lost in a leader change).
  std::chrono::milliseconds revoke_retry_interval{3000};
  size_t revokes_per_call_max = 500;  // etcd revokes at most 1000 leases a second

  base::Status Validate() const;
};

// etcd's minimum lease TTL: one and a half election timeouts, rounded up to seconds,
// so a lease always outlives a leader election.
int64_t MinTtlSeconds(int64_t election_timeout_ms, int64_t heartbeat_interval_ms);

struct LeaseStatus {
  LeaseId id = 0;
  int64_t granted_ttl = 0;    // seconds
  int64_t remaining_ttl = 0;  // whole seconds left (truncated, as etcd's TimeToLive)
  std::vector<std::string> keys;  // candidates, sorted (see "attached lazily")
};

struct Checkpoint {
  LeaseId id = 0;
  int64_t remaining_ttl = 0;
};

class Lessor {
 public:
  // Loads the leases of the backend's `lease` bucket (all "forever" until Promote).
  static base::Result<std::unique_ptr<Lessor>> Open(backend::Backend* backend, Config config);
  // Forgets every lease and reads them again from the backend, whose file was replaced
  // (a snapshot from the leader). Attachments are the caller's to redo.
  base::Status Reload();

  // --- applied entries (backend owner), identical on every member ---
  // Returns the granted TTL. Errors: lease already exists, too large lease TTL.
  base::Result<int64_t> Grant(LeaseId id, int64_t ttl_seconds, Clock::time_point now);
  // Removes the lease and returns its attached keys, sorted (deletion order must be the
  // same on every member). Error: requested lease not found.
  base::Result<std::vector<std::string>> Revoke(LeaseId id);
  // Records the leader's view of a lease's remaining TTL; an unknown id is ignored.
  base::Status Checkpoint(LeaseId id, int64_t remaining_ttl);
  bool Exists(LeaseId id) const;
  // Attaches `key`; false when the lease does not exist.
  bool Attach(LeaseId id, const std::string& key);

  // --- the primary ---
  void Promote(Clock::time_point now, std::chrono::milliseconds extend);
  void Demote();
  bool primary() const;
  // Renews to now + TTL and returns the TTL. Errors: "etcdserver: not leader" on a
  // follower, "requested lease not found" for an unknown or already expired lease.
  // Sets *clear_checkpoint when the lease carries a checkpointed remaining TTL, which
  // the renewal makes stale: the caller proposes a checkpoint of 0 so that a new leader
  // does not start from it (etcd does the same).
  base::Result<int64_t> Renew(LeaseId id, Clock::time_point now, bool* clear_checkpoint);
  // Expired leases whose revoke should be proposed now; each is not handed out again
  // before revoke_retry_interval.
  std::vector<LeaseId> TakeExpired(Clock::time_point now);
  // The checkpoints to propose, when checkpoint_interval has passed since the last
  // call that returned some: leases whose remaining TTL is below their TTL.
  std::vector<lease::Checkpoint> TakeCheckpoints(Clock::time_point now);

  // --- any member ---
  base::Result<LeaseStatus> TimeToLive(LeaseId id, Clock::time_point now) const;
  // Every lease, soonest expiry first (ties by id); keys left empty.
  std::vector<LeaseStatus> Leases(Clock::time_point now) const;

 private:
  struct Lease {
    int64_t ttl = 0;
    int64_t remaining_ttl = 0;  // checkpointed; 0: none
    Clock::time_point expiry = Clock::time_point::max();  // max: forever (followers)
    Clock::time_point revoke_retry{};  // primary: not handed out by TakeExpired before it
    std::set<std::string> keys;
  };

  Lessor(backend::Backend* backend, Config config) : backend_(backend), config_(config) {}
  base::Status Persist(LeaseId id, const Lease& lease);
  // Requires mu_. Sets the expiry and keeps expiries_ in step.
  void SetExpiry(LeaseId id, Lease& lease, Clock::time_point expiry);
  static int64_t RemainingSeconds(const Lease& lease, Clock::time_point now);

  backend::Backend* const backend_;
  const Config config_;

  mutable std::mutex mu_;
  std::map<LeaseId, Lease> leases_;                      // guarded by mu_
  std::set<std::pair<Clock::time_point, LeaseId>> expiries_;  // guarded by mu_; primary only
  bool primary_ = false;                                 // guarded by mu_
  Clock::time_point next_checkpoint_{};                  // guarded by mu_
};

}  // namespace etcpp::lease
