// etcd's concurrency recipes (clientv3/concurrency: mutex, election), run inside the
// server for the Lock and Election services, asynchronously: every step is a server
// call whose answer starts the next, so no thread waits for a lock.
//
// A contender's key is `<prefix><lease id in lowercase hex>`; the contender whose key
// has the lowest create revision holds the lock (or leads). A waiter watches only the
// newest key created before its own (its predecessor) and looks again once that key is
// deleted, so a release wakes one waiter, not all of them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "etcdserverpb/rpc.pb.h"
#include "server/server.h"

namespace etcpp::api::recipes {

// Set when the client gave up: the recipe stops at its next step, and a wait in
// progress ends at once through its abort callback.
class Cancellation {
 public:
  void Cancel();
  bool cancelled() const;
  // `abort` runs once, on Cancel (at once when already cancelled). One at a time; Clear
  // removes it when its wait has ended.
  void SetAbort(std::function<void()> abort);
  void ClearAbort();

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;         // guarded by mu_
  std::function<void()> abort_;    // guarded by mu_
};
using Cancelled = std::shared_ptr<Cancellation>;

// A unary reactor whose cancellation reaches the recipe it runs.
class CancellableReactor final : public grpc::ServerUnaryReactor {
 public:
  Cancelled cancellation = std::make_shared<Cancellation>();
  void OnCancel() override { cancellation->Cancel(); }
  void OnDone() override { delete this; }
};

std::string ContenderKey(const std::string& prefix, int64_t lease);
// The range of every key under `prefix`.
std::string PrefixEnd(const std::string& prefix);
// The key under `prefix` with the lowest create revision (etcd's WithFirstCreate).
etcdserverpb::RangeRequest FirstCreated(const std::string& prefix);

// Watches [key, range_end) from `start_revision` (range_end empty: just `key`), handing
// each response's events to `on_events` until it returns false; then `ended` gets
// true. A compacted start revision or a cancellation ends it with an error instead.
using OnEvents =
    std::function<bool(const etcdserverpb::ResponseHeader&, const std::vector<mvccpb::Event>&)>;
void Watch(server::EtcdServer* server, const std::string& key, const std::string& range_end,
           int64_t start_revision, Cancelled cancelled, OnEvents on_events, server::Done<bool> ended);

// Waits until `key` is deleted at or after `revision`.
void WaitDelete(server::EtcdServer* server, const std::string& key, int64_t revision,
                Cancelled cancelled, server::Done<bool> done);

// Waits until no key under `prefix` has a create revision <= max_create_revision
// (etcd's waitDeletes); answers the header of the range that found none.
void WaitDeletes(server::EtcdServer* server, const std::string& prefix, int64_t max_create_revision,
                 Cancelled cancelled, server::Done<etcdserverpb::ResponseHeader> done);

base::Status CancelledStatus();

// etcd runs these services over its own client, so every error reaches the caller as
// a plain error: etcd's message with gRPC code UNKNOWN.
grpc::Status ErrorStatus(const base::Status& status);

}  // namespace etcpp::api::recipes
