// How gRPC failures become base::Status values, with the text etcd's Go client would show
// (etcdctl prints exactly that after "Error: "), and which failures may be retried.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "base/status.h"

namespace etcpp::client {

// Messages etcd sends and clients match on (etcd's rpctypes); the ones we branch on.
inline constexpr char kErrInvalidAuthToken[] = "etcdserver: invalid auth token";
inline constexpr char kErrAuthNotEnabled[] = "etcdserver: authentication is not enabled";
inline constexpr char kErrContextDeadline[] = "context deadline exceeded";
inline constexpr char kErrContextCanceled[] = "context canceled";

// Server errors ("etcdserver: ...") keep their text. A deadline or cancellation that the
// client itself caused reads as Go's context error, anything else as grpc-go prints a
// status: "rpc error: code = Unavailable desc = ...".
base::Status FromGrpc(const grpc::Status& status);

// The canonical gRPC code name as grpc-go spells it ("DeadlineExceeded").
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace etcpp::client
