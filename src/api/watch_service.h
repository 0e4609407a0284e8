// etcdserverpb.Watch: one bidirectional stream per client carrying many watchers
// (etcd's v3rpc watch server, behaviour only). The stream's watchers live in an
// mvcc::WatchStream on the member's watchable store; this layer turns requests into
// Watch/Cancel/RequestProgress calls and writes the stream's responses out one at a
// time, splitting large ones into fragments for watchers that asked for it.
#pragma once

#include <grpcpp/grpcpp.h>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/server.h"

namespace etcpp::api {

class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  // `fragment_bytes` is etcd's --max-request-bytes: the size fragments stay under.
  WatchService(server::EtcdServer* server, size_t fragment_bytes)
      : server_(server), fragment_bytes_(fragment_bytes) {}

  grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext* context) override;

 private:
  server::EtcdServer* server_;
  size_t fragment_bytes_;
};

// etcd's sendFragments: a response of at least `limit` bytes with two or more events is
// cut into responses of whole events, each under `limit` (or holding one event), all but
// the last with `fragment` set.
std::vector<etcdserverpb::WatchResponse> SplitWatchResponse(etcdserverpb::WatchResponse response,
                                                            size_t limit);

}  // namespace etcpp::api
