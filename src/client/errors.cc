#include "client/errors.h"

namespace etcpp::client {

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "Canceled";
    case grpc::StatusCode::UNKNOWN: return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND: return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS: return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED: return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FailedPrecondition";
    case grpc::StatusCode::ABORTED: return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED: return "Unimplemented";
    case grpc::StatusCode::INTERNAL: return "Internal";
    case grpc::StatusCode::UNAVAILABLE: return "Unavailable";
    case grpc::StatusCode::DATA_LOSS: return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED: return "Unauthenticated";
    default: return "Unknown";
  }
}

namespace {

base::Code ToCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT: return base::Code::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND: return base::Code::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS: return base::Code::kAlreadyExists;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED: return base::Code::kFailedPrecondition;
    case grpc::StatusCode::OUT_OF_RANGE: return base::Code::kOutOfRange;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return base::Code::kResourceExhausted;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED: return base::Code::kUnavailable;
    default: return base::Code::kInternal;
  }
}

}  // namespace

base::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return base::Status::Ok();
  const std::string& message = status.error_message();
  const base::Code code = ToCode(status.error_code());
  if (message.rfind("etcdserver: ", 0) == 0) return base::Status(code, message);
  // gRPC C++ reports its own deadline as "Deadline Exceeded"; the Go client turns any
  // deadline into the context's error, which is what users of etcdctl know.
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    return base::Status(code, kErrContextDeadline);
  if (status.error_code() == grpc::StatusCode::CANCELLED && message == "Cancelled")
    return base::Status(code, kErrContextCanceled);
  return base::Status(code, std::string("rpc error: code = ") +
                                GrpcCodeName(status.error_code()) + " desc = " + message);
}

}  // namespace etcpp::client
