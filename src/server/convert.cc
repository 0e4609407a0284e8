#include "server/convert.h"

#include "base/assert.h"

namespace etcpp::server {

mvcc::RangeRequest FromWire(const etcdserverpb::RangeRequest& r) {
  mvcc::RangeRequest out;
  out.key = r.key();
  out.range_end = r.range_end();
  out.limit = r.limit();
  out.revision = r.revision();
  out.sort_order = static_cast<mvcc::SortOrder>(r.sort_order());
  out.sort_target = static_cast<mvcc::SortTarget>(r.sort_target());
  out.serializable = r.serializable();
  out.keys_only = r.keys_only();
  out.count_only = r.count_only();
  out.min_mod_revision = r.min_mod_revision();
  out.max_mod_revision = r.max_mod_revision();
  out.min_create_revision = r.min_create_revision();
  out.max_create_revision = r.max_create_revision();
  return out;
}

mvcc::PutRequest FromWire(const etcdserverpb::PutRequest& r) {
  mvcc::PutRequest out;
  out.key = r.key();
  out.value = r.value();
  out.lease = r.lease();
  out.prev_kv = r.prev_kv();
  out.ignore_value = r.ignore_value();
  out.ignore_lease = r.ignore_lease();
  return out;
}

mvcc::WatchRequest FromWire(const etcdserverpb::WatchCreateRequest& r) {
  mvcc::WatchRequest out;
  out.watch_id = r.watch_id();
  out.key = r.key();
  out.range_end = r.range_end();
  out.start_revision = r.start_revision();
  out.prev_kv = r.prev_kv();
  out.progress_notify = r.progress_notify();
  for (int filter : r.filters()) {
    if (filter == etcdserverpb::WatchCreateRequest::NOPUT) out.filter_put = true;
    if (filter == etcdserverpb::WatchCreateRequest::NODELETE) out.filter_delete = true;
  }
  return out;
}

mvcc::DeleteRangeRequest FromWire(const etcdserverpb::DeleteRangeRequest& r) {
  return mvcc::DeleteRangeRequest{r.key(), r.range_end(), r.prev_kv()};
}

namespace {

mvcc::Compare CompareFromWire(const etcdserverpb::Compare& c) {
  mvcc::Compare out;
  out.result = static_cast<mvcc::Compare::Result>(c.result());
  out.target = static_cast<mvcc::Compare::Target>(c.target());
  out.key = c.key();
  out.range_end = c.range_end();
  switch (c.target_union_case()) {
    case etcdserverpb::Compare::kVersion: out.number = c.version(); break;
    case etcdserverpb::Compare::kCreateRevision: out.number = c.create_revision(); break;
    case etcdserverpb::Compare::kModRevision: out.number = c.mod_revision(); break;
    case etcdserverpb::Compare::kLease: out.number = c.lease(); break;
    case etcdserverpb::Compare::kValue: out.value = c.value(); break;
    case etcdserverpb::Compare::TARGET_UNION_NOT_SET: break;
  }
  return out;
}

std::vector<mvcc::RequestOp> OpsFromWire(
    const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  std::vector<mvcc::RequestOp> out;
  out.reserve(ops.size());
  for (const auto& op : ops) {
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange: out.push_back({FromWire(op.request_range())}); break;
      case etcdserverpb::RequestOp::kRequestPut: out.push_back({FromWire(op.request_put())}); break;
      case etcdserverpb::RequestOp::kRequestDeleteRange:
        out.push_back({FromWire(op.request_delete_range())});
        break;
      case etcdserverpb::RequestOp::kRequestTxn: out.push_back({FromWire(op.request_txn())}); break;
      // etcd treats an empty op as an empty range (it dereferences nothing); the API
      // layer's validation refuses it before it gets here.
      case etcdserverpb::RequestOp::REQUEST_NOT_SET: ETCPP_ASSERT_MSG(false, "empty RequestOp");
    }
  }
  return out;
}

}  // namespace

mvcc::TxnRequest FromWire(const etcdserverpb::TxnRequest& r) {
  mvcc::TxnRequest out;
  for (const auto& c : r.compare()) out.compare.push_back(CompareFromWire(c));
  out.success = OpsFromWire(r.success());
  out.failure = OpsFromWire(r.failure());
  return out;
}

void ToWire(mvcc::RangeResponse r, etcdserverpb::RangeResponse* out) {
  out->mutable_header()->set_revision(r.revision);
  for (auto& kv : r.kvs) *out->add_kvs() = std::move(kv);
  out->set_more(r.more);
  out->set_count(r.count);
}

void ToWire(mvcc::PutResponse r, etcdserverpb::PutResponse* out) {
  out->mutable_header()->set_revision(r.revision);
  if (r.prev_kv) *out->mutable_prev_kv() = std::move(*r.prev_kv);
}

void ToWire(mvcc::DeleteRangeResponse r, etcdserverpb::DeleteRangeResponse* out) {
  out->mutable_header()->set_revision(r.revision);
  out->set_deleted(r.deleted);
  for (auto& kv : r.prev_kvs) *out->add_prev_kvs() = std::move(kv);
}

void ToWire(mvcc::TxnResponse r, etcdserverpb::TxnResponse* out) {
  // etcd leaves the header of nested txn responses empty; the store reports 0 for them.
  if (r.revision != 0) out->mutable_header()->set_revision(r.revision);
  out->set_succeeded(r.succeeded);
  for (auto& op : r.responses) {
    auto* wire = out->add_responses();
    std::visit(
        [wire](auto& response) {
          using T = std::decay_t<decltype(response)>;
          if constexpr (std::is_same_v<T, mvcc::RangeResponse>) {
            ToWire(std::move(response), wire->mutable_response_range());
          } else if constexpr (std::is_same_v<T, mvcc::PutResponse>) {
            ToWire(std::move(response), wire->mutable_response_put());
          } else if constexpr (std::is_same_v<T, mvcc::DeleteRangeResponse>) {
            ToWire(std::move(response), wire->mutable_response_delete_range());
          } else {
            ToWire(std::move(response), wire->mutable_response_txn());
          }
        },
        op.response);
  }
}

bool IsReadOnly(const etcdserverpb::TxnRequest& r) {
  auto only_reads = [](const auto& ops) {
    for (const auto& op : ops) {
      if (op.has_request_range()) continue;
      if (op.has_request_txn() && IsReadOnly(op.request_txn())) continue;
      return false;
    }
    return true;
  };
  return only_reads(r.success()) && only_reads(r.failure());
}

bool HasPut(const etcdserverpb::TxnRequest& r) {
  auto puts = [](const auto& ops) {
    for (const auto& op : ops) {
      if (op.has_request_put() || (op.has_request_txn() && HasPut(op.request_txn()))) return true;
    }
    return false;
  };
  return puts(r.success()) || puts(r.failure());
}

// The bytes a write may add to the backend, for the quota check (etcd's estimate: keys
// and values).
int64_t PutCost(const etcdserverpb::TxnRequest& r) {
  int64_t cost = 0;
  for (const auto* ops : {&r.success(), &r.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put()) cost += static_cast<int64_t>(op.request_put().key().size() + op.request_put().value().size());
      if (op.has_request_txn()) cost += PutCost(op.request_txn());
    }
  }
  return cost;
}

}  // namespace etcpp::server
