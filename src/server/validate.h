// The checks etcd makes on a request before it proposes it (its v3rpc key.go rules),
// with etcd's errors: an empty key, a value or lease given with ignore_value /
// ignore_lease, too many txn operations, the same key written twice in one txn branch.
// A request that fails here never reaches raft, so it costs the cluster nothing.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcpp::server {

base::Status ValidateRange(const etcdserverpb::RangeRequest& r);
base::Status ValidatePut(const etcdserverpb::PutRequest& r);
base::Status ValidateDeleteRange(const etcdserverpb::DeleteRangeRequest& r);
base::Status ValidateTxn(const etcdserverpb::TxnRequest& r, uint64_t max_txn_ops);

}  // namespace etcpp::server
