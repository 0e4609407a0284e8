// etcd's client-visible errors in one table: each internal error (a base::Status whose
// message is etcd's internal error text, e.g. "mvcc: required revision has been
// compacted") maps to the gRPC code and exact message etcd sends ("etcdserver: mvcc:
// required revision has been compacted", OUT_OF_RANGE). Clients match on these strings,
// so they are compared with real etcd byte for byte by the e2e tests.
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

#include "base/status.h"

namespace etcpp::api {

// The gRPC status for `status`: the table's entry when its message is one of etcd's
// errors (with or without the "etcdserver: " prefix), else UNKNOWN with the message as
// is, which is what etcd does with errors it has no table entry for.
grpc::Status ToGrpcStatus(const base::Status& status);

// The wire message and code of a known error, for code that builds errors directly.
grpc::Status EtcdError(std::string_view message);

// grpc-go's name of a code, which grpc_server_handled_total's labels use.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace etcpp::api
