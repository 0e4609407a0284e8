// The raft loop: the only thread that touches the RawNode and the raft storage.
#include <algorithm>
#include <chrono>

#include "base/failpoint.h"
#include "base/log.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

void EtcdServer::RaftLoop() {
  using Clock = std::chrono::steady_clock;
  const auto tick_interval = std::chrono::milliseconds(config_.heartbeat_interval_ms);
  auto next_tick = Clock::now() + tick_interval;
  while (!stopping_.load()) {
    std::vector<Proposal> proposals;
    ReadBatch reads;
    uint64_t snapshot_at = 0;
    {
      std::unique_lock lock(raft_mu_);
      raft_cv_.wait_until(lock, next_tick, [this] {
        return stopping_.load() || !proposals_.empty() || !reads_waiting_.empty() ||
               snapshot_wanted_at_ != 0;
      });
      proposals.swap(proposals_);
      reads.swap(reads_waiting_);
      std::swap(snapshot_at, snapshot_wanted_at_);
    }
    if (snapshot_at != 0) TakeSnapshot(snapshot_at);
    if (Clock::now() >= next_tick) {
      node_->Tick();
      ExpireWaiters(Clock::now());
      ExpireReads(Clock::now());
      next_tick += tick_interval;
    }
    for (auto& proposal : proposals) {
      // A dropped proposal (no leader) is not answered here: its waiter times out with
      // etcd's error, as etcd's does.
      (void)node_->Propose(std::move(proposal.data));
    }
    for (auto& read : reads) reads_unsent_.push_back(std::move(read));
    if (!reads_unsent_.empty()) {
      // One ReadIndex round confirms leadership for every read that arrived meanwhile.
      // Refused (no leader known yet), the reads wait for the next try.
      std::string context = std::to_string(++read_round_);
      if (node_->ReadIndex(context).ok()) {
        reads_in_round_[context] = {Clock::now(), std::move(reads_unsent_)};
        reads_unsent_.clear();
      }
    }
    while (node_->HasReady()) HandleReady(node_->GetReady());
  }
}

// Followers up to this many entries behind still catch up from the log rather than a
// snapshot (etcd keeps the same number).
constexpr uint64_t kSnapshotCatchUpEntries = 5000;

void EtcdServer::TakeSnapshot(uint64_t index) {
  // The configuration is the one raft holds now; it equals the one at `index` while the
  // membership cannot change (one-member clusters).
  base::Status status =
      raft_storage_->Snapshot(index, node_->GetConfState(), kSnapshotCatchUpEntries);
  if (!status.ok()) {
    base::Log(base::LogLevel::kError, "failed to save a snapshot", {{"error", status.ToString()}});
    return;
  }
  base::Log(base::LogLevel::kInfo, "saved snapshot", {{"snapshot-index", index}});
}

void EtcdServer::ExpireReads(std::chrono::steady_clock::time_point now) {
  const auto retry_after = std::chrono::milliseconds(config_.election_timeout_ms);
  for (auto it = reads_in_round_.begin(); it != reads_in_round_.end();) {
    if (now - it->second.started < retry_after) {
      ++it;
      continue;
    }
    for (auto& read : it->second.reads) reads_unsent_.push_back(std::move(read));
    it = reads_in_round_.erase(it);
  }
  auto expired = std::stable_partition(reads_unsent_.begin(), reads_unsent_.end(),
                                       [now](const PendingRead& r) { return r.deadline > now; });
  for (auto it = expired; it != reads_unsent_.end(); ++it) {
    it->fail(base::Status(base::Code::kUnavailable, "etcdserver: request timed out"));
  }
  reads_unsent_.erase(expired, reads_unsent_.end());
}

void EtcdServer::HandleReady(raft::Ready ready) {
  if (ready.soft_state) {
    uint64_t old_leader = leader_.exchange(ready.soft_state->leader);
    metrics_.has_leader.Set(ready.soft_state->leader != raft::kNone);
    metrics_.is_leader.Set(ready.soft_state->role == raft::Role::kLeader);
    if (old_leader != ready.soft_state->leader) {
      if (ready.soft_state->leader != raft::kNone) metrics_.leader_changes_seen.Increment();
      base::Log(base::LogLevel::kInfo, "raft leader changed",
                {{"member-id", IdHex(member_id_)},
                 {"leader", IdHex(ready.soft_state->leader)},
                 {"role", raft::RoleName(ready.soft_state->role)}});
    }
  }
  if (ready.hard_state) {
    term_ = ready.hard_state->term();
    commit_index_ = ready.hard_state->commit();
  }
  // ready.messages go to other members; a one-member cluster (all Bootstrap accepts
  // until transport/ exists) has none to send.
  ETCPP_ASSERT_MSG(ready.messages.empty(), "raft messages but no transport to send them");
  auto save_start = std::chrono::steady_clock::now();
  ETCPP_FAILPOINT(ready.snapshot ? "raft-before-save-snapshot" : "wal-before-fsync");
  base::Status saved = raft_storage_->Save(ready.hard_state ? &*ready.hard_state : nullptr,
                                           ready.entries,
                                           ready.snapshot ? &*ready.snapshot : nullptr);
  if (ready.hard_state || !ready.entries.empty()) {
    metrics_.wal_fsync_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - save_start).count());
  }
  // Raft's promises (votes, acknowledgements) rest on this write; after a failed sync
  // nothing may be acknowledged, so the member stops rather than carry on.
  ETCPP_ASSERT_MSG(saved.ok(), saved.ToString().c_str());
  ETCPP_FAILPOINT(ready.snapshot ? "raft-after-save-snapshot" : "wal-after-fsync");

  for (const auto& read_state : ready.read_states) {
    auto it = reads_in_round_.find(read_state.context);
    if (it == reads_in_round_.end()) continue;
    std::lock_guard lock(apply_mu_);
    reads_at_index_.emplace(read_state.index, std::move(it->second.reads));
    reads_in_round_.erase(it);
  }
  if (!ready.read_states.empty()) apply_cv_.notify_one();

  for (const auto& entry : ready.committed_entries) {
    if (entry.type() == raftpb::ENTRY_NORMAL && !entry.data().empty()) {
      metrics_.proposals_committed.Increment();
    }
    if (entry.type() != raftpb::ENTRY_CONF_CHANGE) continue;
    raftpb::ConfChange change;
    ETCPP_ASSERT(change.ParseFromString(entry.data()));
    auto conf = node_->ApplyConfChange(change);
    if (!conf.ok()) {
      base::Log(base::LogLevel::kWarn, "refused a membership change",
                {{"error", conf.status().ToString()}});
    }
  }
  if (!ready.committed_entries.empty()) {
    PostApplyTask([this, entries = std::move(ready.committed_entries)] { ApplyEntries(entries); });
  }
  node_->Advance();
}

}  // namespace etcpp::server
