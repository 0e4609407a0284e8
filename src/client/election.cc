// Election, following etcd's clientv3/concurrency/election.go (see concurrency.h).
#include <cstdio>

#include "client/concurrency.h"
#include "client/watch.h"

namespace etcpp::client {

using base::Code;
using base::Result;
using base::Status;
using etcdserverpb::Compare;

namespace {

constexpr char kErrNotLeader[] = "election: not leader";
constexpr char kErrNoLeader[] = "election: no leader";

Compare CreateRevisionIs(const std::string& key, int64_t revision) {
  Compare compare;
  compare.set_key(key);
  compare.set_target(Compare::CREATE);
  compare.set_result(Compare::EQUAL);
  compare.set_create_revision(revision);
  return compare;
}

}  // namespace

Election::Election(Session& session, const std::string& prefix)
    : session_(session), prefix_(prefix + "/") {}

Status Election::Campaign(const std::string& value, const Cancel* cancel) {
  char lease[32];
  std::snprintf(lease, sizeof lease, "%llx", static_cast<unsigned long long>(session_.lease_id()));
  const std::string key = prefix_ + lease;
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreateRevisionIs(key, 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(session_.lease_id());
  txn.add_failure()->mutable_request_range()->set_key(key);
  auto response = session_.client().Txn(txn);
  if (!response.ok()) return response.status();
  leader_key_ = key;
  leader_revision_ = response->header().revision();
  if (!response->succeeded()) {
    const auto& kv = response->responses(0).response_range().kvs(0);
    leader_revision_ = kv.create_revision();
    if (kv.value() != value) {
      Status proclaimed = Proclaim(value);
      if (!proclaimed.ok()) {
        (void)Resign();  // the proclaim error is the one to report
        return proclaimed;
      }
    }
  }
  Status waited = WaitDeletes(session_.client(), prefix_, leader_revision_ - 1, cancel);
  if (!waited.ok()) {
    (void)Resign();
    return waited;
  }
  return Status::Ok();
}

Status Election::Proclaim(const std::string& value) {
  if (leader_key_.empty()) return Status(Code::kFailedPrecondition, kErrNotLeader);
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreateRevisionIs(leader_key_, leader_revision_);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(leader_key_);
  put->set_value(value);
  put->set_lease(session_.lease_id());
  auto response = session_.client().Txn(txn);
  if (!response.ok()) return response.status();
  if (!response->succeeded()) {
    leader_key_.clear();
    return Status(Code::kFailedPrecondition, kErrNotLeader);
  }
  return Status::Ok();
}

Status Election::Resign() {
  if (leader_key_.empty()) return Status::Ok();
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreateRevisionIs(leader_key_, leader_revision_);
  txn.add_success()->mutable_request_delete_range()->set_key(leader_key_);
  auto response = session_.client().Txn(txn);
  if (!response.ok()) return response.status();
  leader_key_.clear();
  leader_revision_ = 0;
  return Status::Ok();
}

Result<etcdserverpb::RangeResponse> Election::Leader() {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix_);
  request.set_range_end(PrefixRangeEnd(prefix_));
  request.set_sort_target(etcdserverpb::RangeRequest::CREATE);
  request.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  request.set_limit(1);
  auto response = session_.client().Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs_size() == 0) return Status(Code::kNotFound, kErrNoLeader);
  return response;
}

Status Election::Observe(const std::function<void(const etcdserverpb::RangeResponse&)>& on_leader,
                         const Cancel* cancel) {
  // Polls the leader on every change under the prefix: simpler than etcd's per-leader
  // watch and the same sequence of distinct leaders and values.
  std::mutex mu;
  std::condition_variable cv;
  bool changed = true;
  etcdserverpb::WatchCreateRequest request;
  request.set_key(prefix_);
  request.set_range_end(PrefixRangeEnd(prefix_));
  auto watcher = Watcher::Start(session_.client(), request, [&](const etcdserverpb::WatchResponse&) {
    std::lock_guard lock(mu);
    changed = true;
    cv.notify_all();
  });
  std::string last_key, last_value;
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return changed; });
      if (cancel != nullptr && cancel->load()) return Status::Ok();
      if (!changed) continue;
      changed = false;
    }
    auto leader = Leader();
    if (!leader.ok()) {
      if (leader.status().code() == Code::kNotFound) continue;
      return leader.status();
    }
    const auto& kv = leader->kvs(0);
    if (kv.key() == last_key && kv.value() == last_value) continue;
    last_key = kv.key();
    last_value = kv.value();
    on_leader(*leader);
  }
}

}  // namespace etcpp::client
