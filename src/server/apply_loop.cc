// The apply loop: the backend's owner. Applies committed entries in log order, keeps
// the consistent index in the same backend batch as the data, commits the backend on
// its interval, and releases linearizable reads whose index has been applied.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <malloc.h>

#include <chrono>

#include "base/failpoint.h"
#include "base/log.h"
#include "server/convert.h"
#include "server/server.h"

namespace etcpp::server {

void EtcdServer::PostApplyTask(std::function<void()> task) {
  {
    std::lock_guard lock(apply_mu_);
    apply_tasks_.push_back(std::move(task));
  }
  apply_cv_.notify_one();
}

// Entries applied in a burst after which an idle apply loop returns free heap pages.
constexpr uint64_t kTrimAfterEntries = 10000;

void EtcdServer::ApplyLoop() {
  const auto batch_interval = std::chrono::milliseconds(config_.backend_batch_interval_ms);
  uint64_t trimmed_at = applied_index_.load();
  while (true) {
    std::deque<std::function<void()>> tasks;
    bool idle = false;  // a whole batch interval passed with nothing to apply or release
    {
      std::unique_lock lock(apply_mu_);
      idle = !apply_cv_.wait_for(lock, batch_interval, [this] {
        return stopping_.load() || !apply_tasks_.empty() ||
               (!reads_at_index_.empty() && reads_at_index_.begin()->first <= applied_index_.load());
      });
      if (stopping_.load() && apply_tasks_.empty()) break;
      tasks.swap(apply_tasks_);
    }
    if (idle && applied_index_.load() - trimmed_at >= kTrimAfterEntries) {
      // A burst of writes has ended. glibc keeps the pages its buffers (gRPC's, the raft
      // log's, the backend batch's) freed, so RSS would stay at the burst's peak (38 of
      // 230 MiB after loading 1,000,000 keys). Done only when idle: nothing waits on it.
      malloc_trim(0);
      trimmed_at = applied_index_.load();
    }
    for (auto& task : tasks) task();
    LeaseTick();
    ReleaseReads();
    MaybeSnapshot();
    auto commit_start = std::chrono::steady_clock::now();
    bool pending = backend_->PendingOps() > 0;
    if (pending) ETCPP_FAILPOINT("backend-before-commit");
    base::Status committed = store_->CommitIfDue(commit_start);
    if (pending && backend_->PendingOps() == 0) {
      ETCPP_FAILPOINT("backend-after-commit");
      metrics_.backend_commit_seconds.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
    }
    if (!committed.ok()) {
      // The batch stays pending and is retried; the WAL still holds every entry.
      base::Log(base::LogLevel::kError, "backend commit failed", {{"error", committed.ToString()}});
    }
  }
  // Everything applied reaches the backend file before the member stops.
  if (auto status = store_->Commit(); !status.ok()) {
    base::Log(base::LogLevel::kError, "failed to commit the backend on stop",
              {{"error", status.ToString()}});
  }
}

void EtcdServer::MaybeSnapshot() {
  uint64_t applied = applied_index_.load();
  if (applied - snapshot_index_ < config_.snapshot_count) return;
  // The snapshot stands for the backend's state, so that state must be on disk before
  // the WAL entries it replaces may go.
  base::Status committed = store_->Commit();
  if (!committed.ok()) {
    base::Log(base::LogLevel::kError, "backend commit for a snapshot failed",
              {{"error", committed.ToString()}});
    return;
  }
  snapshot_index_ = applied;
  raftpb::ConfState conf;
  {
    std::lock_guard lock(members_mu_);
    conf = ConfStateLocked();
  }
  {
    std::lock_guard lock(raft_mu_);
    snapshot_wanted_at_ = applied;
    snapshot_conf_ = std::move(conf);
  }
  raft_cv_.notify_one();
}

void EtcdServer::ReleaseReads() {
  std::vector<ReadBatch> ready;
  {
    std::lock_guard lock(apply_mu_);
    auto end = reads_at_index_.upper_bound(applied_index_.load());
    for (auto it = reads_at_index_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    reads_at_index_.erase(reads_at_index_.begin(), end);
  }
  for (auto& batch : ready) {
    for (auto& read : batch) boost::asio::post(*read_pool_, std::move(read.run));
  }
}

void EtcdServer::ApplyEntries(const std::vector<raftpb::Entry>& entries) {
  for (const auto& entry : entries) {
    // After a restart, or a snapshot, raft hands out again what the backend already
    // holds. Raft's own configuration still has to hear of membership changes among them.
    if (entry.index() <= applied_index_.load()) {
      if (entry.type() == raftpb::ENTRY_CONF_CHANGE) {
        raftpb::ConfChange change;
        ETCPP_ASSERT(change.ParseFromString(entry.data()));
        {
          std::lock_guard lock(raft_mu_);
          conf_changes_applied_.push_back(std::move(change));
        }
        raft_cv_.notify_one();
      }
      continue;
    }
    if (entry.type() == raftpb::ENTRY_CONF_CHANGE) {
      ApplyConfChange(entry);
    } else {
      ApplyEntry(entry);
    }
    base::Status status = backend_->SetConsistentIndex(entry.index());
    ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
    applied_index_ = entry.index();
  }
}

void EtcdServer::ApplyEntry(const raftpb::Entry& entry) {
  if (entry.data().empty()) return;
  metrics_.proposals_applied.Increment();
  serverpb::InternalRequest request;
  // The entry was written by a member of this cluster; failing to parse it means a bug
  // or a corrupt log, and skipping it would make this member diverge.
  ETCPP_ASSERT_MSG(request.ParseFromString(entry.data()), "unparsable entry in the raft log");
  base::Status error;
  ApplyResult result = ApplyRequest(request, &error);
  auto done = TakeWaiter(request.id());
  if (!done) return;  // another member proposed it, or its client was told it timed out
  if (error.ok()) {
    done(std::move(result));
  } else {
    done(error);
  }
}

namespace {

// An MVCC error is an answer to the client, not a failure of the member: every member
// applies the same entry and reaches the same error.
template <typename Wire, typename Result>
ApplyResult Answer(Result result, base::Status* error) {
  Wire wire;
  if (!result.ok()) {
    *error = result.status();
    return wire;
  }
  ToWire(std::move(result.value()), &wire);
  return wire;
}

}  // namespace

ApplyResult EtcdServer::ApplyRequest(const serverpb::InternalRequest& request, base::Status* error) {
  // While CORRUPT is raised, every member refuses every write alike (etcd's applier);
  // only alarms (to disarm it) and the server's own bookkeeping pass.
  if (CorruptAlarmed() && (request.has_put() || request.has_delete_range() || request.has_txn() ||
                           request.has_compaction() || request.has_lease_grant() ||
                           request.has_lease_revoke())) {
    *error = base::Status(base::Code::kCorruption, "etcdserver: corrupt cluster");
    return etcdserverpb::PutResponse();
  }
  if (auto answered = ApplyLeaseRequest(request, error)) return std::move(*answered);
  // While NOSPACE is raised, writes that add data are refused on every member alike.
  const bool adds = request.has_put() || (request.has_txn() && HasPut(request.txn()));
  if (adds && Alarmed(etcdserverpb::NOSPACE)) {
    *error = base::Status(base::Code::kResourceExhausted, "etcdserver: mvcc: database space exceeded");
    return etcdserverpb::PutResponse();
  }
  switch (request.request_case()) {
    case serverpb::InternalRequest::kPut: {
      auto result = Answer<etcdserverpb::PutResponse>(store_->Put(FromWire(request.put())), error);
      if (error->ok()) AttachLeases(request, result);
      MaybeRaiseNoSpace();
      return result;
    }
    case serverpb::InternalRequest::kDeleteRange:
      return Answer<etcdserverpb::DeleteRangeResponse>(
          store_->DeleteRange(FromWire(request.delete_range())), error);
    case serverpb::InternalRequest::kTxn: {
      auto result = Answer<etcdserverpb::TxnResponse>(store_->Txn(FromWire(request.txn())), error);
      if (error->ok()) AttachLeases(request, result);
      if (adds) MaybeRaiseNoSpace();
      return result;
    }
    case serverpb::InternalRequest::kAlarm:
      return ApplyAlarm(request.alarm());
    case serverpb::InternalRequest::kCompaction: {
      etcdserverpb::CompactionResponse response;
      *error = store_->Compact(request.compaction().revision());
      response.mutable_header()->set_revision(store_->Rev());
      return response;
    }
    case serverpb::InternalRequest::kMemberAttributes:
      ApplyMemberAttributes(request.member_attributes());
      return etcdserverpb::MemberListResponse();
    case serverpb::InternalRequest::kLeaseGrant:
    case serverpb::InternalRequest::kLeaseRevoke:
    case serverpb::InternalRequest::kLeaseCheckpoint:
    case serverpb::InternalRequest::REQUEST_NOT_SET:
      break;
  }
  // Only this member's own code proposes; an empty request is a bug.
  ETCPP_ASSERT_MSG(false, "internal request without a request");
  return etcdserverpb::CompactionResponse();
}

}  // namespace etcpp::server
