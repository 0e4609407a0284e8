// EtcdServer's leases: the client requests, their application, and the leader's duties
// (expiry, checkpoints). The lessor (src/lease) holds the leases; this file ties it to
// raft and to the MVCC store, which deletes a revoked lease's keys.
#include <algorithm>

#include "base/log.h"
#include "server/convert.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

namespace {

using Clock = lease::Clock;

base::Status NotLeader() {
  return base::Status(base::Code::kFailedPrecondition, "etcdserver: not leader");
}

base::Status LeaseNotFound() {
  return base::Status(base::Code::kNotFound, "etcdserver: requested lease not found");
}

// Etcd checks at most this many checkpoints in one raft entry.
constexpr size_t kCheckpointsPerEntryMax = 1000;

}  // namespace

base::Status EtcdServer::OpenLessor() {
  lease::Config lease_config;
  lease_config.min_ttl_seconds = lease::MinTtlSeconds(static_cast<int64_t>(config_.election_timeout_ms),
                                                      static_cast<int64_t>(config_.heartbeat_interval_ms));
  if (lessor_) {
    ETCPP_RETURN_IF_ERROR(lessor_->Reload());  // a snapshot replaced the backend
  } else {
    auto lessor = lease::Lessor::Open(backend_.get(), lease_config);
    if (!lessor.ok()) return lessor.status();
    lessor_ = std::move(*lessor);
  }
  // Attachments are not persisted: every live key names its lease.
  mvcc::RangeRequest all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  auto keys = store_->Range(all);
  if (!keys.ok()) return keys.status();
  for (const auto& kv : keys->kvs) {
    if (kv.lease() != 0) (void)lessor_->Attach(kv.lease(), kv.key());
  }
  return base::Status::Ok();
}

void EtcdServer::LeaseGrant(etcdserverpb::LeaseGrantRequest request,
                            Done<etcdserverpb::LeaseGrantResponse> done) {
  // The proposer picks the id, so every member grants the same lease (etcd draws it
  // from its request id generator too).
  if (request.id() == 0) {
    request.set_id(static_cast<int64_t>(next_request_id_.fetch_add(1) & ((uint64_t{1} << 63) - 1)));
  }
  serverpb::InternalRequest internal;
  *internal.mutable_lease_grant() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::LeaseRevoke(etcdserverpb::LeaseRevokeRequest request,
                             Done<etcdserverpb::LeaseRevokeResponse> done) {
  serverpb::InternalRequest internal;
  *internal.mutable_lease_revoke() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

void EtcdServer::LeaseKeepAlive(etcdserverpb::LeaseKeepAliveRequest request,
                                Done<etcdserverpb::LeaseKeepAliveResponse> done) {
  bool clear_checkpoint = false;
  auto ttl = lessor_->Renew(request.id(), Clock::now(), &clear_checkpoint);
  if (!ttl.ok() && ttl.status() == NotLeader()) {
    // Only the leader keeps expiries: a follower hands the renewal to it, as etcd's do.
    if (leader() == 0 || leader() == member_id_) return done(NotLeader());
    return transport_->ForwardLeaseKeepAlive(leader(), request, std::move(done));
  }
  if (clear_checkpoint) {
    serverpb::InternalRequest internal;
    auto* checkpoint = internal.mutable_lease_checkpoint()->add_checkpoints();
    checkpoint->set_id(request.id());
    checkpoint->set_remaining_ttl(0);
    Propose(std::move(internal), [](base::Result<ApplyResult>) {});
  }
  etcdserverpb::LeaseKeepAliveResponse response;
  response.set_id(request.id());
  response.set_ttl(ttl.ok() ? *ttl : 0);
  FillHeader(response.mutable_header());
  done(std::move(response));
}

void EtcdServer::LeaseTimeToLive(etcdserverpb::LeaseTimeToLiveRequest request,
                                 Done<etcdserverpb::LeaseTimeToLiveResponse> done) {
  if (!lessor_->primary()) {
    if (leader() == 0 || leader() == member_id_) return done(NotLeader());
    return transport_->ForwardLeaseTimeToLive(leader(), request, std::move(done));
  }
  etcdserverpb::LeaseTimeToLiveResponse response;
  response.set_id(request.id());
  auto status = lessor_->TimeToLive(request.id(), Clock::now());
  if (!status.ok()) {
    response.set_ttl(-1);
  } else {
    response.set_ttl(status->remaining_ttl);
    response.set_grantedttl(status->granted_ttl);
    for (const auto& key : request.keys() ? status->keys : std::vector<std::string>{}) {
      // Attachments are lazy (lessor.h): only keys that still carry this lease count.
      mvcc::RangeRequest get;
      get.key = key;
      auto got = store_->Range(get);
      if (got.ok() && !got->kvs.empty() && got->kvs[0].lease() == request.id()) response.add_keys(key);
    }
  }
  FillHeader(response.mutable_header());
  done(std::move(response));
}

void EtcdServer::LeaseLeases(etcdserverpb::LeaseLeasesRequest,
                             Done<etcdserverpb::LeaseLeasesResponse> done) {
  etcdserverpb::LeaseLeasesResponse response;
  for (const auto& lease : lessor_->Leases(Clock::now())) response.add_leases()->set_id(lease.id);
  FillHeader(response.mutable_header());
  done(std::move(response));
}

void EtcdServer::LeaseTick() {
  auto now = Clock::now();
  bool leader = leader_.load() == member_id_;
  uint64_t term = term_.load();
  if (leader && (!lease_primary_ || term != lease_term_)) {
    // A new leader cannot know how long ago each lease was last renewed; it grants
    // every lease its full (or checkpointed) TTL plus an election timeout.
    lessor_->Promote(now, std::chrono::milliseconds(config_.election_timeout_ms));
  } else if (!leader && lease_primary_) {
    lessor_->Demote();
  }
  lease_primary_ = leader;
  lease_term_ = term;
  if (!leader) return;
  for (lease::LeaseId id : lessor_->TakeExpired(now)) {
    serverpb::InternalRequest internal;
    internal.mutable_lease_revoke()->set_id(id);
    // A revoke lost in a leader change is proposed again (TakeExpired's retry).
    Propose(std::move(internal), [](base::Result<ApplyResult>) {});
  }
  auto checkpoints = lessor_->TakeCheckpoints(now);
  for (size_t i = 0; i < checkpoints.size(); i += kCheckpointsPerEntryMax) {
    serverpb::InternalRequest internal;
    for (size_t j = i; j < std::min(checkpoints.size(), i + kCheckpointsPerEntryMax); ++j) {
      auto* checkpoint = internal.mutable_lease_checkpoint()->add_checkpoints();
      checkpoint->set_id(checkpoints[j].id);
      checkpoint->set_remaining_ttl(checkpoints[j].remaining_ttl);
    }
    Propose(std::move(internal), [](base::Result<ApplyResult>) {});
  }
}

bool EtcdServer::TxnLeasesExist(const etcdserverpb::TxnRequest& txn) {
  // Only the branch that will run must name live leases (etcd's rule); its compares are
  // evaluated on the state before the txn, nested ones included.
  etcdserverpb::TxnRequest compares_only;
  *compares_only.mutable_compare() = txn.compare();
  auto evaluated = store_->Txn(FromWire(compares_only));
  if (!evaluated.ok()) return true;  // the txn itself will report the error
  const auto& ops = evaluated->succeeded ? txn.success() : txn.failure();
  for (const auto& op : ops) {
    if (op.has_request_put() && op.request_put().lease() != 0 && !lessor_->Exists(op.request_put().lease())) {
      return false;
    }
    if (op.has_request_txn() && !TxnLeasesExist(op.request_txn())) return false;
  }
  return true;
}

namespace {

bool TxnNamesLeases(const etcdserverpb::TxnRequest& txn) {
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put() && op.request_put().lease() != 0) return true;
      if (op.has_request_txn() && TxnNamesLeases(op.request_txn())) return true;
    }
  }
  return false;
}

void AttachTxn(lease::Lessor& lessor, const etcdserverpb::TxnRequest& txn,
               const etcdserverpb::TxnResponse& response) {
  const auto& ops = response.succeeded() ? txn.success() : txn.failure();
  for (int i = 0; i < ops.size(); ++i) {
    if (ops[i].has_request_put() && ops[i].request_put().lease() != 0) {
      (void)lessor.Attach(ops[i].request_put().lease(), ops[i].request_put().key());
    }
    if (ops[i].has_request_txn() && i < response.responses_size()) {
      AttachTxn(lessor, ops[i].request_txn(), response.responses(i).response_txn());
    }
  }
}

}  // namespace

void EtcdServer::AttachLeases(const serverpb::InternalRequest& request, const ApplyResult& result) {
  if (request.has_put() && request.put().lease() != 0) {
    (void)lessor_->Attach(request.put().lease(), request.put().key());
  } else if (request.has_txn() && TxnNamesLeases(request.txn())) {
    AttachTxn(*lessor_, request.txn(), std::get<etcdserverpb::TxnResponse>(result));
  }
}

std::optional<ApplyResult> EtcdServer::ApplyLeaseRequest(const serverpb::InternalRequest& request,
                                                         base::Status* error) {
  switch (request.request_case()) {
    case serverpb::InternalRequest::kPut:
      if (request.put().lease() != 0 && !lessor_->Exists(request.put().lease())) {
        *error = LeaseNotFound();
        return etcdserverpb::PutResponse();
      }
      return std::nullopt;
    case serverpb::InternalRequest::kTxn:
      if (TxnNamesLeases(request.txn()) && !TxnLeasesExist(request.txn())) {
        *error = LeaseNotFound();
        return etcdserverpb::TxnResponse();
      }
      return std::nullopt;
    case serverpb::InternalRequest::kLeaseGrant: {
      etcdserverpb::LeaseGrantResponse response;
      const auto& grant = request.lease_grant();
      auto ttl = lessor_->Grant(grant.id(), grant.ttl(), Clock::now());
      if (!ttl.ok()) {
        *error = ttl.status();
        return response;
      }
      response.set_id(grant.id());
      response.set_ttl(*ttl);
      return response;
    }
    case serverpb::InternalRequest::kLeaseRevoke: {
      etcdserverpb::LeaseRevokeResponse response;
      auto keys = lessor_->Revoke(request.lease_revoke().id());
      if (!keys.ok()) {
        *error = keys.status();
        return response;
      }
      // All of the lease's keys go in one txn: one revision, on every member alike.
      etcdserverpb::TxnRequest deletes;
      for (const auto& key : *keys) {
        mvcc::RangeRequest get;
        get.key = key;
        auto got = store_->Range(get);
        if (!got.ok() || got->kvs.empty() || got->kvs[0].lease() != request.lease_revoke().id()) continue;
        deletes.add_success()->mutable_request_delete_range()->set_key(key);
      }
      if (deletes.success_size() > 0) {
        auto deleted = store_->Txn(FromWire(deletes));
        ETCPP_ASSERT_MSG(deleted.ok(), deleted.status().ToString().c_str());
      }
      return response;
    }
    case serverpb::InternalRequest::kLeaseCheckpoint: {
      for (const auto& checkpoint : request.lease_checkpoint().checkpoints()) {
        base::Status status = lessor_->Checkpoint(checkpoint.id(), checkpoint.remaining_ttl());
        ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
      }
      return etcdserverpb::LeaseCheckpointResponse();
    }
    default:
      return std::nullopt;
  }
}

}  // namespace etcpp::server
