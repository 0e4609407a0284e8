#include "client/concurrency.h"

#include <condition_variable>
#include <cstdio>

#include "client/errors.h"
#include "client/watch.h"

namespace etcpp::client {

using base::Code;
using base::Result;
using base::Status;
using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;

namespace {

std::string HexLease(int64_t lease_id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(lease_id));
  return buf;
}

Compare CreateRevisionIs(const std::string& key, int64_t revision) {
  Compare compare;
  compare.set_key(key);
  compare.set_target(Compare::CREATE);
  compare.set_result(Compare::EQUAL);
  compare.set_create_revision(revision);
  return compare;
}

// The first (oldest) or last key under a prefix by create revision.
RangeRequest ByCreate(const std::string& prefix, bool oldest, int64_t max_create_revision = 0) {
  RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(PrefixRangeEnd(prefix));
  request.set_sort_target(RangeRequest::CREATE);
  request.set_sort_order(oldest ? RangeRequest::ASCEND : RangeRequest::DESCEND);
  request.set_limit(1);
  request.set_max_create_revision(max_create_revision);
  return request;
}

bool Canceled(const Cancel* cancel) { return cancel != nullptr && cancel->load(); }

// Blocks until `key` is deleted at a revision after `revision`.
Status WaitDelete(Client& client, const std::string& key, int64_t revision, const Cancel* cancel) {
  std::mutex mu;
  std::condition_variable cv;
  bool deleted = false;
  etcdserverpb::WatchCreateRequest request;
  request.set_key(key);
  request.set_start_revision(revision);
  auto watcher = Watcher::Start(client, request, [&](const etcdserverpb::WatchResponse& response) {
    for (const auto& event : response.events()) {
      if (event.type() != mvccpb::Event::DELETE) continue;
      std::lock_guard lock(mu);
      deleted = true;
      cv.notify_all();
    }
  });
  std::unique_lock lock(mu);
  // Polls the cancel flag because it is set from outside (a signal handler cannot notify).
  while (!deleted) {
    if (Canceled(cancel)) return Status(Code::kUnavailable, kErrContextCanceled);
    cv.wait_for(lock, std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

}  // namespace

Status WaitDeletes(Client& client, const std::string& prefix, int64_t max_create_revision,
                   const Cancel* cancel) {
  for (;;) {
    auto newest = client.Range(ByCreate(prefix, /*oldest=*/false, max_create_revision));
    if (!newest.ok()) return newest.status();
    if (newest->kvs_size() == 0) return Status::Ok();
    ETCPP_RETURN_IF_ERROR(
        WaitDelete(client, newest->kvs(0).key(), newest->header().revision(), cancel));
  }
}

Result<std::unique_ptr<Session>> Session::Create(Client& client, int64_t ttl_seconds,
                                                 std::chrono::milliseconds keep_alive_period) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(ttl_seconds);
  auto granted = client.LeaseGrant(grant);
  if (!granted.ok()) return granted.status();
  std::unique_ptr<Session> session(new Session(client, granted->id()));
  session->keeper_ = LeaseKeeper::Start(client, session->lease_id_, nullptr, keep_alive_period);
  return session;
}

Session::Session(Client& client, int64_t lease_id) : client_(client), lease_id_(lease_id) {}

Session::~Session() { (void)Close(); }  // best effort: the lease expires anyway

bool Session::Expired() { return keeper_ != nullptr && keeper_->Finished(); }

Status Session::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  keeper_->Stop();
  keeper_.reset();
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease_id_);
  return client_.LeaseRevoke(revoke).status();
}

Mutex::Mutex(Session& session, const std::string& prefix)
    : session_(session), prefix_(prefix + "/") {}

Status Mutex::Lock(const Cancel* cancel) {
  Client& client = session_.client();
  key_ = prefix_ + HexLease(session_.lease_id());
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreateRevisionIs(key_, 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key_);
  put->set_lease(session_.lease_id());
  *txn.add_success()->mutable_request_range() = ByCreate(prefix_, /*oldest=*/true);
  txn.add_failure()->mutable_request_range()->set_key(key_);
  *txn.add_failure()->mutable_request_range() = ByCreate(prefix_, /*oldest=*/true);
  auto response = client.Txn(txn);
  if (!response.ok()) return response.status();
  int64_t my_revision = response->header().revision();
  if (!response->succeeded())
    my_revision = response->responses(0).response_range().kvs(0).create_revision();
  const auto& owner = response->responses(1).response_range();
  if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == my_revision) {
    header_ = response->header();
    return Status::Ok();
  }
  Status waited = WaitDeletes(client, prefix_, my_revision - 1, cancel);
  if (!waited.ok()) {
    (void)Unlock();  // give up our place in the queue; the wait's error is what matters
    return waited;
  }
  header_ = response->header();
  return Status::Ok();
}

Status Mutex::Unlock() {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(key_);
  return session_.client().DeleteRange(request).status();
}

}  // namespace etcpp::client
