// Client: a connection to an etcd v3 cluster over gRPC, for etcppctl, etcpp-bench and
// tests.
//
// Thread-safety: every method may be called from any thread at the same time; one Client
// shares its channels (HTTP/2 connections) among all calls, so many requests can be in
// flight on one connection.
//
// Failover: a request goes to the endpoint that served the previous one. If that
// endpoint cannot be connected within the dial timeout, the next endpoint is tried, round
// robin, until the request's deadline. Nothing has been sent at that point, so this is
// safe for every request. A request that failed as Unavailable after it was sent is
// retried on the next endpoint only when it is safe to apply twice (reads).
//
// Authentication: with a username, Connect() authenticates and every call carries the
// token in the "token" metadata header, as etcd expects. A call rejected with
// "etcdserver: invalid auth token" (the token expired or the member restarted)
// re-authenticates once and is sent again.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "client/config.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcpp::client {

// One endpoint: its channel and a stub for every service on it.
struct Endpoint {
  std::string address;  // as configured, e.g. "127.0.0.1:2379"
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
};

// Whether a call may be sent again after it may have reached a server.
enum class Retry { kSafe, kOnlyBeforeSend };

// The unary RPCs: X(stub, method, request, response, retry).
#define ETCPP_CLIENT_UNARY_METHODS(X)                                                     \
  X(kv, Range, RangeRequest, RangeResponse, kSafe)                                        \
  X(kv, Put, PutRequest, PutResponse, kOnlyBeforeSend)                                    \
  X(kv, DeleteRange, DeleteRangeRequest, DeleteRangeResponse, kOnlyBeforeSend)            \
  X(kv, Txn, TxnRequest, TxnResponse, kOnlyBeforeSend)                                    \
  X(kv, Compact, CompactionRequest, CompactionResponse, kOnlyBeforeSend)                  \
  X(lease, LeaseGrant, LeaseGrantRequest, LeaseGrantResponse, kOnlyBeforeSend)            \
  X(lease, LeaseRevoke, LeaseRevokeRequest, LeaseRevokeResponse, kOnlyBeforeSend)         \
  X(lease, LeaseTimeToLive, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, kSafe)       \
  X(lease, LeaseLeases, LeaseLeasesRequest, LeaseLeasesResponse, kSafe)                   \
  X(cluster, MemberAdd, MemberAddRequest, MemberAddResponse, kOnlyBeforeSend)             \
  X(cluster, MemberRemove, MemberRemoveRequest, MemberRemoveResponse, kOnlyBeforeSend)    \
  X(cluster, MemberUpdate, MemberUpdateRequest, MemberUpdateResponse, kOnlyBeforeSend)    \
  X(cluster, MemberList, MemberListRequest, MemberListResponse, kSafe)                    \
  X(cluster, MemberPromote, MemberPromoteRequest, MemberPromoteResponse, kOnlyBeforeSend) \
  X(maintenance, Alarm, AlarmRequest, AlarmResponse, kOnlyBeforeSend)                     \
  X(maintenance, Status, StatusRequest, StatusResponse, kSafe)                            \
  X(maintenance, Defragment, DefragmentRequest, DefragmentResponse, kOnlyBeforeSend)      \
  X(maintenance, Hash, HashRequest, HashResponse, kSafe)                                  \
  X(maintenance, HashKV, HashKVRequest, HashKVResponse, kSafe)                            \
  X(maintenance, MoveLeader, MoveLeaderRequest, MoveLeaderResponse, kOnlyBeforeSend)      \
  X(auth, AuthEnable, AuthEnableRequest, AuthEnableResponse, kOnlyBeforeSend)             \
  X(auth, AuthDisable, AuthDisableRequest, AuthDisableResponse, kOnlyBeforeSend)          \
  X(auth, UserAdd, AuthUserAddRequest, AuthUserAddResponse, kOnlyBeforeSend)              \
  X(auth, UserGet, AuthUserGetRequest, AuthUserGetResponse, kSafe)                        \
  X(auth, UserList, AuthUserListRequest, AuthUserListResponse, kSafe)                     \
  X(auth, UserDelete, AuthUserDeleteRequest, AuthUserDeleteResponse, kOnlyBeforeSend)     \
  X(auth, UserChangePassword, AuthUserChangePasswordRequest,                              \
    AuthUserChangePasswordResponse, kOnlyBeforeSend)                                      \
  X(auth, UserGrantRole, AuthUserGrantRoleRequest, AuthUserGrantRoleResponse,             \
    kOnlyBeforeSend)                                                                      \
  X(auth, UserRevokeRole, AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse,          \
    kOnlyBeforeSend)                                                                      \
  X(auth, RoleAdd, AuthRoleAddRequest, AuthRoleAddResponse, kOnlyBeforeSend)              \
  X(auth, RoleGet, AuthRoleGetRequest, AuthRoleGetResponse, kSafe)                        \
  X(auth, RoleList, AuthRoleListRequest, AuthRoleListResponse, kSafe)                     \
  X(auth, RoleDelete, AuthRoleDeleteRequest, AuthRoleDeleteResponse, kOnlyBeforeSend)     \
  X(auth, RoleGrantPermission, AuthRoleGrantPermissionRequest,                            \
    AuthRoleGrantPermissionResponse, kOnlyBeforeSend)                                     \
  X(auth, RoleRevokePermission, AuthRoleRevokePermissionRequest,                          \
    AuthRoleRevokePermissionResponse, kOnlyBeforeSend)

class Client {
 public:
  // gRPC deadlines take system_clock time points only.
  using Clock = std::chrono::system_clock;

  // Builds the channels and, with a username, authenticates (as etcd's Go client does
  // when it is created, so a wrong password fails here). Does not wait for a connection
  // otherwise: the first request does, within the dial timeout per endpoint.
  static base::Result<std::unique_ptr<Client>> Connect(Config config);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // A call in flight on the client's completion queue (internal to the async forms).
  struct AsyncTag {
    virtual ~AsyncTag() = default;
    virtual void Complete() = 0;
  };

#define ETCPP_DECLARE_UNARY(stub, method, request, response, retry) \
  base::Result<etcdserverpb::response> method(const etcdserverpb::request& req);
  ETCPP_CLIENT_UNARY_METHODS(ETCPP_DECLARE_UNARY)
#undef ETCPP_DECLARE_UNARY

  // Asynchronous forms, for many requests in flight on one connection (etcpp-bench),
  // over one completion queue per client and its poller thread: `done` runs once, on
  // that thread, and must not block. One attempt on the endpoint in use, with the current
  // token: no failover, retry or token refresh — callers that need those use the
  // synchronous forms. Destroying the client waits for the calls in flight.
#define ETCPP_DECLARE_ASYNC(stub, method, request, response, retry)  \
  void method##Async(const etcdserverpb::request& req,              \
                     std::function<void(base::Result<etcdserverpb::response>)> done);
  ETCPP_CLIENT_UNARY_METHODS(ETCPP_DECLARE_ASYNC)
#undef ETCPP_DECLARE_ASYNC

  // Streams the backend snapshot of the endpoint in use into `sink`, chunk by chunk.
  base::Status Snapshot(const std::function<base::Status(const std::string&)>& sink);

  // One keep-alive round trip for a lease (etcdctl's `lease keep-alive --once`).
  base::Result<etcdserverpb::LeaseKeepAliveResponse> LeaseKeepAliveOnce(int64_t lease_id);

  // For streams (watch, keep-alive) and asynchronous callers: a connected endpoint,
  // waiting at most until `deadline`, with `context` carrying the auth token. The
  // Endpoint lives as long as the Client.
  base::Result<Endpoint*> PrepareStream(grpc::ClientContext& context, Clock::time_point deadline);
  // The same for a caller that builds its calls on the endpoint's channel without a
  // ClientContext (etcpp-bench, over gRPC's C core): `token` gets the auth token to send,
  // empty without a username.
  base::Result<Endpoint*> PrepareCall(Clock::time_point deadline, std::string& token);

  // Authenticates again (streams call this when the server calls their token invalid);
  // OK without a username.
  base::Status RefreshToken();

  // Tells the client that `endpoint` failed a stream, so the next pick starts elsewhere.
  void ReportFailure(const Endpoint* endpoint);

  const Config& config() const { return config_; }

 private:
  explicit Client(Config config);

  using CallFn = std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>;
  // Runs `call` with failover, auth-token refresh and the retry rule.
  base::Status Invoke(Retry retry, const CallFn& call);
  base::Result<Endpoint*> PickEndpoint(Clock::time_point deadline);
  Endpoint& CurrentEndpoint();
  grpc::CompletionQueue* AsyncQueue();  // starts the poller on first use
  base::Status Authenticate(Endpoint& endpoint, Clock::time_point deadline);
  void AttachToken(grpc::ClientContext& context);

  const Config config_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;

  grpc::CompletionQueue async_queue_;
  std::once_flag async_started_;
  std::thread async_thread_;

  std::mutex mu_;
  size_t current_ = 0;  // GUARDED_BY(mu_): the endpoint that served the last call
  std::string token_;   // GUARDED_BY(mu_): empty when not authenticated
};

// The end of the range of all keys with `prefix` (etcd's GetPrefixRangeEnd): the prefix
// with its last byte below 0xff incremented; "\0" (every key) when there is none.
std::string PrefixRangeEnd(const std::string& prefix);

}  // namespace etcpp::client
