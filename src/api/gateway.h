// The HTTP/1.1 side of the client port: etcd's grpc-gateway JSON mapping of the same
// calls (POST /v3/kv/range …; bytes as base64, int64 as strings, field names as in the
// .proto files), and the operational endpoints GET /health, /livez, /readyz, /version,
// /metrics.
// Errors come back as etcd's gateway sends them: {"error": …, "code": …, "message": …}
// with the HTTP status of the gRPC code.
#pragma once

#include <grpcpp/channel.h>

#include <memory>

#include "api/client_listener.h"
#include "server/server.h"

namespace etcpp::api {

// `local` is an in-process channel to this member's gRPC server, for the services that
// live in the API layer (Election, Lock); without it their routes answer 404.
HttpHandler MakeGateway(server::EtcdServer* server, std::shared_ptr<grpc::Channel> local = nullptr);
// The streamed routes: POST /v3/watch takes one WatchRequest (JSON) and answers a
// stream of {"result": WatchResponse} objects, one per line, as grpc-gateway does.
HttpStreamHandler MakeStreamingGateway(server::EtcdServer* server);
// The HTTP side of the peer port, as etcd's: GET /members (the cluster's members as JSON,
// for tools that ask a peer URL) and GET /version; 404 for the rest (raft itself travels
// over gRPC here, so etcd's /raft and /leases are not served).
HttpHandler MakePeerHttp(server::EtcdServer* server);

}  // namespace etcpp::api
