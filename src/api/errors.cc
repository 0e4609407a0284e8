#include "api/errors.h"

#include <array>

#include "base/assert.h"

namespace etcpp::api {
namespace {

struct Entry {
  grpc::StatusCode code;
  std::string_view message;
};

using C = grpc::StatusCode;

// etcd v3.5's rpctypes table (facts: gRPC code and message of each server error).
constexpr std::array kTable = {
    Entry{C::INVALID_ARGUMENT, "etcdserver: key is not provided"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: key not found"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: value is provided"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: lease is provided"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: ttl is 0"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: too many operations in txn request"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"},
    Entry{C::OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"},
    Entry{C::OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"},
    Entry{C::RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"},
    Entry{C::NOT_FOUND, "etcdserver: requested lease not found"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: lease already exists"},
    Entry{C::OUT_OF_RANGE, "etcdserver: too large lease TTL"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: member ID already exist"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"},
    Entry{C::FAILED_PRECONDITION,
          "etcdserver: re-configuration failed due to not enough started members"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"},
    Entry{C::NOT_FOUND, "etcdserver: member not found"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: can only promote a learner member"},
    Entry{C::FAILED_PRECONDITION,
          "etcdserver: can only promote a learner member which is in sync with leader"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: request is too large"},
    Entry{C::RESOURCE_EXHAUSTED, "etcdserver: too many requests"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: root user does not exist"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: root user does not have root role"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: user name already exists"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: user name is empty"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: user name not found"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: role name already exists"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: role name not found"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: role name is empty"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"},
    Entry{C::PERMISSION_DENIED, "etcdserver: permission denied"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: role is not granted to the user"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: authentication is not enabled"},
    Entry{C::UNAUTHENTICATED, "etcdserver: invalid auth token"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: invalid auth management"},
    Entry{C::UNAVAILABLE, "etcdserver: no leader"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: not leader"},
    Entry{C::UNAVAILABLE, "etcdserver: leader changed"},
    Entry{C::UNAVAILABLE, "etcdserver: not capable"},
    Entry{C::UNAVAILABLE, "etcdserver: server stopped"},
    Entry{C::UNAVAILABLE, "etcdserver: request timed out"},
    Entry{C::UNAVAILABLE, "etcdserver: request timed out, possibly due to previous leader failure"},
    Entry{C::UNAVAILABLE, "etcdserver: request timed out, possibly due to connection lost"},
    Entry{C::UNAVAILABLE, "etcdserver: unhealthy cluster"},
    Entry{C::DATA_LOSS, "etcdserver: corrupt cluster"},
    Entry{C::UNAVAILABLE, "etcdserver: rpc not supported for learner"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: bad leader transferee"},
    Entry{C::UNAVAILABLE, "etcdserver: cluster version not found during downgrade"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: wrong downgrade target version format"},
    Entry{C::INVALID_ARGUMENT, "etcdserver: invalid downgrade target version"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: cluster has a downgrade job in progress"},
    Entry{C::FAILED_PRECONDITION, "etcdserver: no inflight downgrade job"},
};

constexpr std::string_view kPrefix = "etcdserver: ";

const Entry* Find(std::string_view message) {
  for (const Entry& entry : kTable) {
    if (entry.message == message || entry.message.substr(kPrefix.size()) == message) return &entry;
  }
  return nullptr;
}

}  // namespace

grpc::Status ToGrpcStatus(const base::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (const Entry* entry = Find(status.message())) {
    return grpc::Status(entry->code, std::string(entry->message));
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, status.message());
}

// grpc-go's names of the codes, which grpc_server_handled_total's labels use.
const char* GrpcCodeName(grpc::StatusCode code) {
  static const char* const names[] = {
      "OK",          "Canceled",          "Unknown",        "InvalidArgument", "DeadlineExceeded",
      "NotFound",    "AlreadyExists",     "PermissionDenied", "ResourceExhausted",
      "FailedPrecondition", "Aborted",    "OutOfRange",     "Unimplemented",   "Internal",
      "Unavailable", "DataLoss",          "Unauthenticated"};
  int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(names)) ? names[i] : "Unknown";
}

grpc::Status EtcdError(std::string_view message) {
  const Entry* entry = Find(message);
  ETCPP_ASSERT_MSG(entry, "not one of etcd's errors");
  return grpc::Status(entry->code, std::string(entry->message));
}

}  // namespace etcpp::api
