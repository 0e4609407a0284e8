// etcdserverpb.Watch: one bidirectional stream per client carrying many watchers
// (etcd's v3rpc watch server, behaviour only). The stream's watchers live in an
// mvcc::WatchStream on the member's watchable store; this layer turns requests into
// Watch/Cancel/RequestProgress calls and writes the stream's responses out one at a
// time, splitting large ones into fragments for watchers that asked for it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/thread_pool.hpp>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/server.h"

namespace etcpp::api {

class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  // `fragment_bytes`: the size fragments stay under; etcd's is --max-request-bytes plus
  // its 512 KiB allowance for gRPC's framing.
  WatchService(server::EtcdServer* server, size_t fragment_bytes)
      : server_(server), fragment_bytes_(fragment_bytes) {}

  grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext* context) override;

 private:
  server::EtcdServer* server_;
  size_t fragment_bytes_;
  // Converts and writes responses off the watchable store's threads (watch_service.cc).
  boost::asio::thread_pool pool_{2};
};

// etcd's sendFragments: a response of at least `limit` bytes with two or more events is
// cut into responses of whole events, each under `limit` (or holding one event), all but
// the last with `fragment` set.
std::vector<etcdserverpb::WatchResponse> SplitWatchResponse(etcdserverpb::WatchResponse response,
                                                            size_t limit);

}  // namespace etcpp::api
