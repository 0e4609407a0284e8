// Store::Txn — etcd v3.5's txn semantics (etcdserver apply.go):
//   1. Every compare of the txn, and of the nested txns on the branches taken, is
//      evaluated up front against the state before the txn. The outcomes, in pre-order,
//      are the txn's "path".
//   2. Requests on the path are checked against that same state: a put with
//      ignore_value/ignore_lease needs the key to exist ("etcdserver: key not found"),
//      a range's revision must be neither future nor compacted. Any failure fails the
//      whole txn before anything is written.
//   3. The branches run in order in one write transaction: all changes share main
//      revision current+1 with sub revisions 0, 1, ...; later reads see earlier writes.
// Compare rules: a compare covers every key in [key, range_end) and holds only if it
// holds for each; over no keys, a VALUE compare is false (a missing value cannot be
// told from an empty one) and the others compare against zero (version 0, create 0,
// mod 0, lease 0) — so "version(k) = 0" tests that k is absent.
#include "base/assert.h"
#include "storage/mvcc/txn_context.h"

namespace etcpp::mvcc {

using base::Result;
using base::Status;

namespace {

int CompareNumbers(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool CompareKeyValue(const Compare& c, const mvccpb::KeyValue& kv) {
  int result = 0;
  switch (c.target) {
    case Compare::Target::kValue:
      result = kv.value().compare(c.value);
      result = result < 0 ? -1 : (result > 0 ? 1 : 0);
      break;
    case Compare::Target::kCreate:
      result = CompareNumbers(kv.create_revision(), c.number);
      break;
    case Compare::Target::kMod:
      result = CompareNumbers(kv.mod_revision(), c.number);
      break;
    case Compare::Target::kVersion:
      result = CompareNumbers(kv.version(), c.number);
      break;
    case Compare::Target::kLease:
      result = CompareNumbers(kv.lease(), c.number);
      break;
  }
  switch (c.result) {
    case Compare::Result::kEqual:
      return result == 0;
    case Compare::Result::kNotEqual:
      return result != 0;
    case Compare::Result::kGreater:
      return result > 0;
    case Compare::Result::kLess:
      return result < 0;
  }
  return false;
}

bool ApplyCompare(TxnContext& view, const Compare& c) {
  RangeRequest range;
  range.key = c.key;
  range.range_end = c.range_end;
  auto got = view.Range(range);
  if (!got.ok()) return false;
  if (got->kvs.empty()) {
    if (c.target == Compare::Target::kValue) return false;
    return CompareKeyValue(c, mvccpb::KeyValue());
  }
  for (const auto& kv : got->kvs) {
    if (!CompareKeyValue(c, kv)) return false;
  }
  return true;
}

const std::vector<RequestOp>& Branch(const TxnRequest& txn, bool succeeded) {
  return succeeded ? txn.success : txn.failure;
}

void CompareToPath(TxnContext& view, const TxnRequest& txn, std::vector<bool>* path) {
  bool succeeded = true;
  for (const Compare& c : txn.compare) {
    if (!ApplyCompare(view, c)) {
      succeeded = false;
      break;
    }
  }
  path->push_back(succeeded);
  for (const RequestOp& op : Branch(txn, succeeded)) {
    if (auto* nested = std::get_if<TxnRequest>(&op.request)) CompareToPath(view, *nested, path);
  }
}

using CheckFn = std::function<Status(TxnContext&, const RequestOp&)>;

// Walks the requests on the path (pre-order, `*at` indexing the path).
Status CheckRequests(TxnContext& view, const TxnRequest& txn, const std::vector<bool>& path,
                     size_t* at, const CheckFn& check) {
  const bool succeeded = path[(*at)++];
  for (const RequestOp& op : Branch(txn, succeeded)) {
    if (auto* nested = std::get_if<TxnRequest>(&op.request)) {
      ETCPP_RETURN_IF_ERROR(CheckRequests(view, *nested, path, at, check));
    } else {
      ETCPP_RETURN_IF_ERROR(check(view, op));
    }
  }
  return Status::Ok();
}

Status CheckPut(TxnContext& view, const RequestOp& op) {
  const auto* put = std::get_if<PutRequest>(&op.request);
  if (put == nullptr || !(put->ignore_value || put->ignore_lease)) return Status::Ok();
  RangeRequest get;
  get.key = put->key;
  auto got = view.Range(get);
  if (!got.ok()) return got.status();
  return got->kvs.empty() ? ErrKeyNotFound() : Status::Ok();
}

Status CheckRange(TxnContext& view, const RequestOp& op) {
  const auto* range = std::get_if<RangeRequest>(&op.request);
  if (range == nullptr || range->revision == 0) return Status::Ok();
  // etcd compares the raw revision here: a negative one is "compacted" whenever the
  // compacted revision is above it, unlike in a plain range.
  if (range->revision > view.Rev()) return ErrFutureRev();
  if (range->revision < view.FirstRev()) return ErrCompacted();
  return Status::Ok();
}

Result<TxnResponse> ApplyTxn(TxnContext& txn, const TxnRequest& request,
                             const std::vector<bool>& path, size_t* at) {
  TxnResponse response;
  response.succeeded = path[(*at)++];
  for (const RequestOp& op : Branch(request, response.succeeded)) {
    ResponseOp& out = response.responses.emplace_back();
    if (const auto* range = std::get_if<RangeRequest>(&op.request)) {
      auto r = txn.Range(*range);
      if (!r.ok()) return r.status();
      out.response = std::move(r).value();
    } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
      auto r = txn.Put(*put);
      if (!r.ok()) return r.status();
      out.response = std::move(r).value();
    } else if (const auto* del = std::get_if<DeleteRangeRequest>(&op.request)) {
      auto r = txn.DeleteRange(*del);
      if (!r.ok()) return r.status();
      out.response = std::move(r).value();
    } else {
      auto r = ApplyTxn(txn, std::get<TxnRequest>(op.request), path, at);
      if (!r.ok()) return r.status();
      out.response = std::move(r).value();
    }
  }
  return response;
}

// etcd's isTxnReadonly: only ranges, in both branches (a nested txn counts as a write).
bool IsReadOnly(const TxnRequest& txn) {
  for (const auto* ops : {&txn.success, &txn.failure}) {
    for (const RequestOp& op : *ops) {
      if (!std::holds_alternative<RangeRequest>(op.request)) return false;
    }
  }
  return true;
}

}  // namespace

Result<TxnResponse> Store::RunTxn(TxnContext& context, const TxnRequest& request, bool is_write) {
  std::vector<bool> path;
  CompareToPath(context, request, &path);
  size_t at = 0;
  if (is_write) ETCPP_RETURN_IF_ERROR(CheckRequests(context, request, path, &at, CheckPut));
  at = 0;
  ETCPP_RETURN_IF_ERROR(CheckRequests(context, request, path, &at, CheckRange));
  at = 0;
  auto response = ApplyTxn(context, request, path, &at);
  if (!response.ok()) return response;
  ETCPP_ASSERT(at == path.size());
  response->revision = context.Rev();
  return response;
}

Result<TxnResponse> Store::Txn(const TxnRequest& request) {
  if (IsReadOnly(request)) {
    auto snapshot = SnapshotTxn::Begin(this);
    if (!snapshot.ok()) return snapshot.status();
    return RunTxn(**snapshot, request, false);
  }
  return Write<TxnResponse>([&](WriteTxn& txn) { return RunTxn(txn, request, true); });
}

}  // namespace etcpp::mvcc
