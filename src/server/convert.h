// Field-by-field translation between etcd's wire messages (etcdserverpb) and the MVCC
// store's plain request and response types. Pure functions: no state, no I/O.
#pragma once

#include "etcdserverpb/rpc.pb.h"
#include "storage/mvcc/types.h"
#include "storage/mvcc/watch.h"

namespace etcpp::server {

mvcc::RangeRequest FromWire(const etcdserverpb::RangeRequest& r);
mvcc::PutRequest FromWire(const etcdserverpb::PutRequest& r);
mvcc::DeleteRangeRequest FromWire(const etcdserverpb::DeleteRangeRequest& r);
mvcc::TxnRequest FromWire(const etcdserverpb::TxnRequest& r);
mvcc::WatchRequest FromWire(const etcdserverpb::WatchCreateRequest& r);

// Responses leave the header for the caller to fill, except the revision.
void ToWire(mvcc::RangeResponse r, etcdserverpb::RangeResponse* out);
void ToWire(mvcc::PutResponse r, etcdserverpb::PutResponse* out);
void ToWire(mvcc::DeleteRangeResponse r, etcdserverpb::DeleteRangeResponse* out);
void ToWire(mvcc::TxnResponse r, etcdserverpb::TxnResponse* out);

// Whether a txn only reads (then it is served like a range, without a raft round).
bool IsReadOnly(const etcdserverpb::TxnRequest& r);
// Whether a txn may put (then NOSPACE refuses it), and the bytes its puts carry.
bool HasPut(const etcdserverpb::TxnRequest& r);
int64_t PutCost(const etcdserverpb::TxnRequest& r);

}  // namespace etcpp::server
