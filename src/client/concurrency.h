// Coordination recipes over plain KV, lease and watch calls, with the key layout and
// algorithms of etcd's clientv3/concurrency, so a C++ holder and a Go holder of the same
// lock or election see each other:
//
//   Session   a lease (default TTL 60 s) kept alive in the background; revoked on Close.
//   Mutex     key "<prefix>/<lease id in hex>" created with the session's lease. The
//             holder is the key under the prefix with the lowest create revision; a
//             waiter waits for the deletion of the key created just before its own (no
//             thundering herd), then checks again.
//   Election  the same queue; the leader's value is its key's value; Proclaim updates
//             it while the create revision still matches.
//
// Waiting can be abandoned through a Cancel flag (set from a signal handler, say); the
// wait then returns "context canceled" like the Go recipes. Objects are not thread-safe.
#pragma once

#include <chrono>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "client/client.h"
#include "client/keepalive.h"

namespace etcpp::client {

using Cancel = std::atomic<bool>;

class Session {
 public:
  // `keep_alive_period`: how often the lease is renewed; zero: a third of the TTL.
  static base::Result<std::unique_ptr<Session>> Create(
      Client& client, int64_t ttl_seconds = 60, std::chrono::milliseconds keep_alive_period = {});
  ~Session();  // closes

  // Stops the keep-alive and revokes the lease, which deletes the session's keys.
  base::Status Close();
  int64_t lease_id() const { return lease_id_; }
  Client& client() { return client_; }
  // True once the lease could not be kept alive (expired or revoked elsewhere).
  bool Expired();

 private:
  Session(Client& client, int64_t lease_id);
  Client& client_;
  const int64_t lease_id_;
  std::unique_ptr<LeaseKeeper> keeper_;
  std::atomic<bool> expired_{false};
  bool closed_ = false;
};

class Mutex {
 public:
  Mutex(Session& session, const std::string& prefix);

  base::Status Lock(const Cancel* cancel = nullptr);
  base::Status Unlock();
  const std::string& key() const { return key_; }
  // The header of the response that made us the holder (its revision orders holders).
  const etcdserverpb::ResponseHeader& header() const { return header_; }

 private:
  Session& session_;
  const std::string prefix_;  // with the trailing "/"
  std::string key_;
  etcdserverpb::ResponseHeader header_;
};

class Election {
 public:
  Election(Session& session, const std::string& prefix);

  // Blocks until this session leads, then `value` is the leader's value.
  base::Status Campaign(const std::string& value, const Cancel* cancel = nullptr);
  base::Status Proclaim(const std::string& value);
  base::Status Resign();
  // The current leader's key-value ("election: no leader" when there is none).
  base::Result<etcdserverpb::RangeResponse> Leader();
  // Calls `on_leader` with each new leader (and each new value) until canceled.
  base::Status Observe(const std::function<void(const etcdserverpb::RangeResponse&)>& on_leader,
                       const Cancel* cancel);
  const std::string& key() const { return leader_key_; }

 private:
  Session& session_;
  const std::string prefix_;  // with the trailing "/"
  std::string leader_key_;
  int64_t leader_revision_ = 0;
};

// Blocks until no key under `prefix` has create revision <= `max_create_revision`,
// waiting on the newest such key each time (etcd's waitDeletes).
base::Status WaitDeletes(Client& client, const std::string& prefix, int64_t max_create_revision,
                         const Cancel* cancel);

}  // namespace etcpp::client
