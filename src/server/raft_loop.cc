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
    std::optional<raftpb::ConfState> snapshot_conf;
    std::vector<raftpb::Message> messages;
    std::vector<uint64_t> unreachable;
    std::vector<std::pair<uint64_t, bool>> snapshot_reports;
    std::vector<raftpb::ConfChange> conf_changes;
    std::optional<Transfer> transfer;
    {
      std::unique_lock lock(raft_mu_);
      raft_cv_.wait_until(lock, next_tick, [this] {
        return stopping_.load() || !proposals_.empty() || !reads_waiting_.empty() ||
               snapshot_wanted_at_ != 0 || !messages_in_.empty() || !unreachable_.empty() ||
               !snapshot_reports_.empty() || !conf_changes_applied_.empty() || transfer_wanted_;
      });
      proposals.swap(proposals_);
      reads.swap(reads_waiting_);
      std::swap(snapshot_at, snapshot_wanted_at_);
      snapshot_conf.swap(snapshot_conf_);
      messages.swap(messages_in_);
      unreachable.swap(unreachable_);
      snapshot_reports.swap(snapshot_reports_);
      conf_changes.swap(conf_changes_applied_);
      transfer.swap(transfer_wanted_);
    }
    // Membership first: raft's configuration must follow the apply loop's before a
    // snapshot records it.
    for (const auto& change : conf_changes) {
      auto conf = node_->ApplyConfChange(change);
      if (!conf.ok()) {
        base::Log(base::LogLevel::kError, "raft refused an applied membership change",
                  {{"error", conf.status().ToString()}});
      }
    }
    if (snapshot_at != 0) TakeSnapshot(snapshot_at, *snapshot_conf);
    for (auto& m : messages) {
      // Messages from members this one no longer knows (removed) are ignored by raft.
      (void)node_->Step(std::move(m));
    }
    for (uint64_t id : unreachable) node_->ReportUnreachable(id);
    for (auto [id, ok] : snapshot_reports) node_->ReportSnapshot(id, ok);
    if (transfer) {
      node_->TransferLeader(transfer->target);
      if (transfer_) transfer_->done(base::Status(base::Code::kUnavailable, "etcdserver: leader changed"));
      transfer_ = std::move(transfer);
    }
    if (Clock::now() >= next_tick) {
      node_->Tick();
      ExpireWaiters(Clock::now());
      ExpireReads(Clock::now());
      CheckTransfer(Clock::now());
      std::map<uint64_t, uint64_t> match;
      if (is_leader_) {
        for (const auto& [id, progress] : node_->raft().tracker().progress()) match[id] = progress.match;
      }
      {
        std::lock_guard lock(progress_mu_);
        progress_match_.swap(match);
      }
      next_tick += tick_interval;
      // A loop that fell behind (a long fsync) ticks once, not in a burst.
      if (next_tick < Clock::now()) next_tick = Clock::now() + tick_interval;
    }
    // Without a leader raft would drop proposals; like etcd's, they wait for one, and
    // those whose waiters have given up meanwhile are dropped.
    for (auto& proposal : proposals) proposals_held_.push_back(std::move(proposal));
    // A leader that was just removed from the cluster counts as none: what a follower
    // forwarded to it would be lost.
    const uint64_t lead = node_->raft().leader();
    if (lead != raft::kNone && node_->raft().tracker().IsMember(lead)) {
      for (auto& proposal : proposals_held_) {
        // A proposal raft still drops (a leader transfer under way) is not answered
        // here: its waiter times out with etcd's error, as etcd's does.
        if (proposal.conf_change) {
          (void)node_->ProposeConfChange(*proposal.conf_change);
        } else {
          (void)node_->Propose(std::move(proposal.data));
        }
      }
      proposals_held_.clear();
    } else {
      auto now = Clock::now();
      std::erase_if(proposals_held_, [&](const Proposal& p) { return now - p.made > RequestTimeout(); });
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

void EtcdServer::TakeSnapshot(uint64_t index, const raftpb::ConfState& conf) {
  base::Status status = raft_storage_->Snapshot(index, conf, config_.snapshot_catchup_entries);
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
  for (auto it = expired; it != reads_unsent_.end(); ++it) it->fail(TimedOut());
  reads_unsent_.erase(expired, reads_unsent_.end());
}

void EtcdServer::CheckTransfer(std::chrono::steady_clock::time_point now) {
  if (!transfer_) return;
  if (leader_.load() == transfer_->target) {
    etcdserverpb::MoveLeaderResponse response;
    FillHeader(response.mutable_header());
    transfer_->done(std::move(response));
    transfer_.reset();
  } else if (now >= transfer_->deadline) {
    transfer_->done(base::Status(base::Code::kUnavailable,
                                 "etcdserver: request timed out, leader transfer took too long"));
    transfer_.reset();
  }
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
  // The leader sends before its own fsync (its followers write in parallel; it counts
  // itself only once durable). Everyone else acknowledges only what is on disk.
  const bool leader = ready.soft_state ? ready.soft_state->role == raft::Role::kLeader : is_leader_;
  is_leader_ = leader;
  std::vector<raftpb::Message> after_save;
  if (leader) {
    if (!ready.messages.empty()) transport_->Send(std::move(ready.messages));
  } else {
    after_save = std::move(ready.messages);
  }
#ifdef ETCPP_PLANT_ACK_BEFORE_FSYNC
  if (!after_save.empty()) transport_->Send(std::move(after_save));  // planted bug (CMake ETCPP_PLANT)
#endif
  auto save_start = std::chrono::steady_clock::now();
  // The WAL points count only saves of entries: those are what an acknowledgement promises.
  if (ready.snapshot) ETCPP_FAILPOINT("raft-before-save-snapshot");
  else if (!ready.entries.empty()) ETCPP_FAILPOINT("wal-before-fsync");
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
  if (ready.snapshot) ETCPP_FAILPOINT("raft-after-save-snapshot");
  else if (!ready.entries.empty()) ETCPP_FAILPOINT("wal-after-fsync");
  if (!after_save.empty()) transport_->Send(std::move(after_save));
  if (ready.snapshot) {
    // The leader's backend file, received with the snapshot, replaces ours in log order.
    PostApplyTask([this, index = ready.snapshot->metadata().index()] { InstallSnapshot(index); });
  }

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
  }
  if (!ready.committed_entries.empty()) {
    PostApplyTask([this, entries = std::move(ready.committed_entries)] { ApplyEntries(entries); });
  }
  node_->Advance();
}

}  // namespace etcpp::server
