// The client-facing side of EtcdServer: validation, proposals and their waiters, and
// the two read paths (linearizable through ReadIndex, serializable at once).
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>

#include "base/log.h"
#include "server/convert.h"
#include "server/server.h"
#include "server/validate.h"

namespace etcpp::server {

namespace {

base::Status TooLarge() {
  return base::Status(base::Code::kInvalidArgument, "etcdserver: request is too large");
}

}  // namespace

void EtcdServer::Propose(serverpb::InternalRequest request,
                         std::function<void(base::Result<ApplyResult>)> done) {
  if (stopping_.load()) {
    return done(base::Status(base::Code::kUnavailable, "etcdserver: server stopped"));
  }
  request.set_id(next_request_id_.fetch_add(1));
  std::string data = request.SerializeAsString();
  if (data.size() > config_.max_request_bytes) return done(TooLarge());
  AddWaiter(request.id(), std::move(done));
  {
    std::lock_guard lock(raft_mu_);
    proposals_.push_back({std::move(data), std::nullopt, std::chrono::steady_clock::now()});
  }
  raft_cv_.notify_one();
}

void EtcdServer::ProposeConfChange(raftpb::ConfChange change,
                                   std::function<void(base::Result<ApplyResult>)> done) {
  if (stopping_.load()) {
    return done(base::Status(base::Code::kUnavailable, "etcdserver: server stopped"));
  }
  change.set_id(next_request_id_.fetch_add(1));
  AddWaiter(change.id(), std::move(done));
  {
    std::lock_guard lock(raft_mu_);
    proposals_.push_back({std::string(), std::move(change), std::chrono::steady_clock::now()});
  }
  raft_cv_.notify_one();
}

void EtcdServer::AddWaiter(uint64_t id, std::function<void(base::Result<ApplyResult>)> done) {
  {
    std::lock_guard lock(waiters_mu_);
    auto deadline = waiter_deadlines_.emplace(std::chrono::steady_clock::now() + RequestTimeout(), id);
    waiters_.emplace(id, Waiter{std::move(done), deadline});
  }
  metrics_.proposals_pending.Increment();
}

std::function<void(base::Result<ApplyResult>)> EtcdServer::TakeWaiter(uint64_t id) {
  std::lock_guard lock(waiters_mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return nullptr;
  auto done = std::move(it->second.done);
  waiter_deadlines_.erase(it->second.deadline);
  waiters_.erase(it);
  metrics_.proposals_pending.Decrement();
  return done;
}

void EtcdServer::ExpireWaiters(std::chrono::steady_clock::time_point now) {
  std::vector<std::function<void(base::Result<ApplyResult>)>> expired;
  {
    std::lock_guard lock(waiters_mu_);
    auto end = waiter_deadlines_.upper_bound(now);
    for (auto it = waiter_deadlines_.begin(); it != end; ++it) {
      auto waiter = waiters_.find(it->second);
      expired.push_back(std::move(waiter->second.done));
      waiters_.erase(waiter);
    }
    waiter_deadlines_.erase(waiter_deadlines_.begin(), end);
  }
  // The proposal may still commit later; like etcd, the client is told only that it
  // did not hear back in time.
  for (auto& done : expired) {
    metrics_.proposals_pending.Decrement();
    metrics_.proposals_failed.Increment();
    done(TimedOut());
  }
}

void EtcdServer::LinearizableRead(std::function<void()> run,
                                  std::function<void(base::Status)> fail) {
#ifdef ETCPP_PLANT_STALE_READS
  return boost::asio::post(*read_pool_, std::move(run));  // planted bug: no ReadIndex (CMake ETCPP_PLANT)
#endif
  {
    std::lock_guard lock(raft_mu_);
    reads_waiting_.push_back(
        {std::move(run), std::move(fail), std::chrono::steady_clock::now() + RequestTimeout()});
  }
  raft_cv_.notify_one();
}

void EtcdServer::Range(etcdserverpb::RangeRequest request, Done<etcdserverpb::RangeResponse> done) {
  if (auto status = ValidateRange(request); !status.ok()) return done(status);
  bool serializable = request.serializable();
  auto reply = std::make_shared<Done<etcdserverpb::RangeResponse>>(std::move(done));
  auto read = [this, request = std::move(request), reply] {
    auto result = store_->Range(FromWire(request));
    if (!result.ok()) return (*reply)(result.status());
    etcdserverpb::RangeResponse response;
    ToWire(std::move(result.value()), &response);
    FillHeader(response.mutable_header());
    (*reply)(std::move(response));
  };
  if (serializable) {
    boost::asio::post(*read_pool_, std::move(read));
  } else {
    LinearizableRead(std::move(read), [reply](base::Status status) { (*reply)(status); });
  }
}

void EtcdServer::Put(etcdserverpb::PutRequest request, Done<etcdserverpb::PutResponse> done) {
  if (auto status = ValidatePut(request); !status.ok()) return done(status);
  int64_t cost = static_cast<int64_t>(request.key().size() + request.value().size());
  if (auto status = CheckSpace(cost); !status.ok()) return done(status);
  serverpb::InternalRequest internal;
  *internal.mutable_put() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::DeleteRange(etcdserverpb::DeleteRangeRequest request,
                             Done<etcdserverpb::DeleteRangeResponse> done) {
  if (auto status = ValidateDeleteRange(request); !status.ok()) return done(status);
  serverpb::InternalRequest internal;
  *internal.mutable_delete_range() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::Txn(etcdserverpb::TxnRequest request, Done<etcdserverpb::TxnResponse> done) {
  if (auto status = ValidateTxn(request, config_.max_txn_ops); !status.ok()) return done(status);
  if (IsReadOnly(request)) {
    // A txn that only reads is served like a linearizable range: no raft entry.
    auto reply = std::make_shared<Done<etcdserverpb::TxnResponse>>(std::move(done));
    LinearizableRead(
        [this, request = std::move(request), reply] {
          auto result = store_->Txn(FromWire(request));
          if (!result.ok()) return (*reply)(result.status());
          etcdserverpb::TxnResponse response;
          ToWire(std::move(result.value()), &response);
          FillHeader(response.mutable_header());
          (*reply)(std::move(response));
        },
        [reply](base::Status status) { (*reply)(status); });
    return;
  }
  if (HasPut(request)) {
    if (auto status = CheckSpace(PutCost(request)); !status.ok()) return done(status);
  }
  serverpb::InternalRequest internal;
  *internal.mutable_txn() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::Compact(etcdserverpb::CompactionRequest request,
                         Done<etcdserverpb::CompactionResponse> done) {
  serverpb::InternalRequest internal;
  *internal.mutable_compaction() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::HashKV(int64_t revision, Done<etcdserverpb::HashKVResponse> done) {
  PostApplyTask([this, revision, done = std::move(done)] {
    auto result = store_->HashKV(revision);
    if (!result.ok()) return done(result.status());
    etcdserverpb::HashKVResponse response;
    response.mutable_header()->set_revision(result->revision);
    FillHeader(response.mutable_header());
    response.set_hash(result->hash);
    response.set_compact_revision(result->compact_revision);
    response.set_hash_revision(result->hash_revision);
    done(std::move(response));
  });
}

void EtcdServer::Defragment(Done<etcdserverpb::DefragmentResponse> done) {
  PostApplyTask([this, done = std::move(done)] {
    auto reclaimed = backend_->Defragment();
    if (!reclaimed.ok()) return done(reclaimed.status());
    base::Log(base::LogLevel::kInfo, "defragmented the backend",
              {{"reclaimed-bytes", *reclaimed}});
    etcdserverpb::DefragmentResponse response;
    FillHeader(response.mutable_header());
    done(std::move(response));
  });
}

}  // namespace etcpp::server

namespace etcpp::server {
// Lease requests (lease.cc) are proposed the same way.
template void EtcdServer::ProposeAndWait(serverpb::InternalRequest,
                                         Done<etcdserverpb::LeaseGrantResponse>);
template void EtcdServer::ProposeAndWait(serverpb::InternalRequest,
                                         Done<etcdserverpb::LeaseRevokeResponse>);
}  // namespace etcpp::server
