// The MVCC store's requests and responses: plain C++ mirrors of etcd's RangeRequest,
// PutRequest, DeleteRangeRequest, TxnRequest and Compare (etcdserverpb), with the same
// field meanings, so the API layer translates field by field. Response headers carry
// only the revision; cluster id, member id and raft term are the server's to add.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "mvccpb/kv.pb.h"

namespace etcpp::mvcc {

// etcd's error texts (mvcc and etcdserver packages); the API layer maps them to gRPC
// codes and adds its "etcdserver: " prefix to the mvcc ones, as etcd's rpctypes does.
inline constexpr const char* kErrCompacted = "mvcc: required revision has been compacted";
inline constexpr const char* kErrFutureRev = "mvcc: required revision is a future revision";
inline constexpr const char* kErrKeyNotFound = "etcdserver: key not found";
base::Status ErrCompacted();
base::Status ErrFutureRev();
base::Status ErrKeyNotFound();

enum class SortOrder { kNone, kAscend, kDescend };
enum class SortTarget { kKey, kVersion, kCreate, kMod, kValue };

struct RangeRequest {
  std::string key;
  std::string range_end;  // empty: just `key`; "\0": every key >= key
  int64_t limit = 0;      // <= 0: no limit
  int64_t revision = 0;   // <= 0: the current revision
  SortOrder sort_order = SortOrder::kNone;
  SortTarget sort_target = SortTarget::kKey;
  bool serializable = false;  // carried for the API layer; the store ignores it
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;  // 0: no filter (the four below alike)
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
};

struct RangeResponse {
  int64_t revision = 0;  // header revision: the store's revision, not the one read at
  std::vector<mvccpb::KeyValue> kvs;
  bool more = false;  // more keys matched than `limit` returned
  int64_t count = 0;  // keys in the range at the read revision, before any filter
};

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;  // the caller (lessor) checks that the lease exists
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct PutResponse {
  int64_t revision = 0;
  std::optional<mvccpb::KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteRangeResponse {
  int64_t revision = 0;
  int64_t deleted = 0;
  std::vector<mvccpb::KeyValue> prev_kvs;
};

struct Compare {
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  Result result = Result::kEqual;
  Target target = Target::kVersion;
  std::string key;
  std::string range_end;  // compares every key in the range, like a RangeRequest
  int64_t number = 0;     // version, create/mod revision or lease, per target
  std::string value;      // for Target::kValue
};

// One operation of a txn branch. TxnRequest holds a vector of the then-incomplete
// RequestOp (allowed since C++17), so RequestOp can hold a complete TxnRequest.
struct RequestOp;
struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};
struct RequestOp {
  std::variant<RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest> request;
};

struct ResponseOp;
struct TxnResponse {
  int64_t revision = 0;  // 0 for nested txns, as etcd leaves their header empty
  bool succeeded = false;
  std::vector<ResponseOp> responses;
};
struct ResponseOp {
  std::variant<RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse> response;
};

struct HashKVResponse {
  uint32_t hash = 0;
  int64_t revision = 0;          // the store's current revision
  int64_t compact_revision = 0;  // -1 when the store was never compacted (as etcd)
  int64_t hash_revision = 0;     // the revision hashed up to
};

}  // namespace etcpp::mvcc
