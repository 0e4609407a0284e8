// v3lockpb.Lock: etcd's distributed mutex served by the server (etcd's v3lock over
// clientv3/concurrency's Mutex, same keys and revisions; see recipes.h). Lock answers
// once the caller holds the lock; the lock is the key it returns, bound to the caller's
// lease, so it is released by Unlock or when the lease ends.
#pragma once

#include <grpcpp/grpcpp.h>

#include "server/server.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace etcpp::api {

class LockService final : public v3lockpb::Lock::CallbackService {
 public:
  explicit LockService(server::EtcdServer* server) : server_(server) {}

  grpc::ServerUnaryReactor* Lock(grpc::CallbackServerContext* context, const v3lockpb::LockRequest* request,
                                 v3lockpb::LockResponse* response) override;
  grpc::ServerUnaryReactor* Unlock(grpc::CallbackServerContext* context,
                                   const v3lockpb::UnlockRequest* request,
                                   v3lockpb::UnlockResponse* response) override;

 private:
  server::EtcdServer* server_;
};

}  // namespace etcpp::api
