#include "server/validate.h"

#include <set>
#include <string>
#include <vector>

namespace etcpp::server {
namespace {

base::Status Invalid(const char* message) {
  return base::Status(base::Code::kInvalidArgument, message);
}

const char* kEmptyKey = "etcdserver: key is not provided";
const char* kDuplicateKey = "etcdserver: duplicate key given in txn request";

base::Status ValidateOps(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops,
                         uint64_t max_txn_ops) {
  for (const auto& op : ops) {
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange:
        ETCPP_RETURN_IF_ERROR(ValidateRange(op.request_range()));
        break;
      case etcdserverpb::RequestOp::kRequestPut:
        ETCPP_RETURN_IF_ERROR(ValidatePut(op.request_put()));
        break;
      case etcdserverpb::RequestOp::kRequestDeleteRange:
        ETCPP_RETURN_IF_ERROR(ValidateDeleteRange(op.request_delete_range()));
        break;
      case etcdserverpb::RequestOp::kRequestTxn:
        ETCPP_RETURN_IF_ERROR(ValidateTxn(op.request_txn(), max_txn_ops));
        break;
      case etcdserverpb::RequestOp::REQUEST_NOT_SET:
        // etcd's answer to an empty operation.
        return Invalid("etcdserver: key not found");
    }
  }
  return base::Status::Ok();
}

// A deleted range [key, end); end "" is the single key, "\0" runs to the last key.
struct Interval {
  std::string key;
  std::string end;
  bool Contains(const std::string& k) const {
    if (end.empty()) return k == key;
    if (end == std::string(1, '\0')) return k >= key;
    return k >= key && k < end;
  }
};

struct Writes {
  std::set<std::string> puts;
  std::vector<Interval> deletes;
  bool Deletes(const std::string& key) const {
    for (const auto& d : deletes) {
      if (d.Contains(key)) return true;
    }
    return false;
  }
};

// etcd's rule: within what one branch can execute, no key is put twice and no key is
// both put and deleted. The two branches of a nested txn exclude each other, so a key
// put in both of them counts once.
base::Status CollectWrites(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops,
                           Writes* out) {
  for (const auto& op : ops) {
    if (op.has_request_delete_range()) {
      out->deletes.push_back({op.request_delete_range().key(), op.request_delete_range().range_end()});
    }
  }
  for (const auto& op : ops) {
    if (!op.has_request_txn()) continue;
    Writes then_writes, else_writes;
    ETCPP_RETURN_IF_ERROR(CollectWrites(op.request_txn().success(), &then_writes));
    ETCPP_RETURN_IF_ERROR(CollectWrites(op.request_txn().failure(), &else_writes));
    for (const auto& key : then_writes.puts) {
      if (out->puts.count(key) || out->Deletes(key)) return Invalid(kDuplicateKey);
      out->puts.insert(key);
    }
    for (const auto& key : else_writes.puts) {
      if (out->puts.count(key) && !then_writes.puts.count(key)) return Invalid(kDuplicateKey);
      if (out->Deletes(key)) return Invalid(kDuplicateKey);
      out->puts.insert(key);
    }
    for (auto* nested : {&then_writes, &else_writes}) {
      out->deletes.insert(out->deletes.end(), nested->deletes.begin(), nested->deletes.end());
    }
  }
  for (const auto& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& key = op.request_put().key();
    if (out->puts.count(key) || out->Deletes(key)) return Invalid(kDuplicateKey);
    out->puts.insert(key);
  }
  return base::Status::Ok();
}

}  // namespace

base::Status ValidateRange(const etcdserverpb::RangeRequest& r) {
  if (r.key().empty()) return Invalid(kEmptyKey);
  return base::Status::Ok();
}

base::Status ValidatePut(const etcdserverpb::PutRequest& r) {
  if (r.key().empty()) return Invalid(kEmptyKey);
  if (r.ignore_value() && !r.value().empty()) return Invalid("etcdserver: value is provided");
  if (r.ignore_lease() && r.lease() != 0) return Invalid("etcdserver: lease is provided");
  return base::Status::Ok();
}

base::Status ValidateDeleteRange(const etcdserverpb::DeleteRangeRequest& r) {
  if (r.key().empty()) return Invalid(kEmptyKey);
  return base::Status::Ok();
}

base::Status ValidateTxn(const etcdserverpb::TxnRequest& r, uint64_t max_txn_ops) {
  uint64_t ops = std::max({r.compare_size(), r.success_size(), r.failure_size()});
  if (ops > max_txn_ops) return Invalid("etcdserver: too many operations in txn request");
  for (const auto& compare : r.compare()) {
    if (compare.key().empty()) return Invalid(kEmptyKey);
  }
  // As in etcd, a nested txn gets what this one leaves of the operation budget.
  ETCPP_RETURN_IF_ERROR(ValidateOps(r.success(), max_txn_ops - ops));
  ETCPP_RETURN_IF_ERROR(ValidateOps(r.failure(), max_txn_ops - ops));
  Writes success, failure;
  ETCPP_RETURN_IF_ERROR(CollectWrites(r.success(), &success));
  return CollectWrites(r.failure(), &failure);
}

}  // namespace etcpp::server
