// Range post-processing — see range.h.
#include "storage/mvcc/range.h"

#include <algorithm>
#include <functional>

namespace etcpp::mvcc {

base::Status ErrCompacted() { return base::Status(base::Code::kOutOfRange, kErrCompacted); }
base::Status ErrFutureRev() { return base::Status(base::Code::kOutOfRange, kErrFutureRev); }
base::Status ErrKeyNotFound() { return base::Status(base::Code::kInvalidArgument, kErrKeyNotFound); }

base::Result<int64_t> ReadRevision(int64_t requested, int64_t current, int64_t compacted) {
  if (requested > current) return ErrFutureRev();
  int64_t rev = requested <= 0 ? current : requested;
  if (rev < compacted) return ErrCompacted();
  return rev;
}

int64_t IndexLimit(const RangeRequest& request) {
  // etcd decides this on the sort order as sent, before a non-key target defaults the
  // order to ascending below; so {limit, target=VERSION, order=NONE} sorts only the
  // first limit+1 keys. We keep that quirk: clients see the same answers.
  if (request.sort_order != SortOrder::kNone || request.min_mod_revision != 0 ||
      request.max_mod_revision != 0 || request.min_create_revision != 0 ||
      request.max_create_revision != 0) {
    return 0;
  }
  return request.limit > 0 ? request.limit + 1 : request.limit;
}

namespace {

using KvLess = std::function<bool(const mvccpb::KeyValue&, const mvccpb::KeyValue&)>;

KvLess LessFor(SortTarget target) {
  switch (target) {
    case SortTarget::kKey:
      return [](const auto& a, const auto& b) { return a.key() < b.key(); };
    case SortTarget::kVersion:
      return [](const auto& a, const auto& b) { return a.version() < b.version(); };
    case SortTarget::kCreate:
      return [](const auto& a, const auto& b) { return a.create_revision() < b.create_revision(); };
    case SortTarget::kMod:
      return [](const auto& a, const auto& b) { return a.mod_revision() < b.mod_revision(); };
    case SortTarget::kValue:
      return [](const auto& a, const auto& b) { return a.value() < b.value(); };
  }
  ETCPP_ASSERT_MSG(false, "unknown sort target");
}

void Prune(std::vector<mvccpb::KeyValue>* kvs, const std::function<bool(const mvccpb::KeyValue&)>& drop) {
  kvs->erase(std::remove_if(kvs->begin(), kvs->end(), drop), kvs->end());
}

}  // namespace

RangeResponse FinishRange(const RangeRequest& r, int64_t header_revision, int64_t count,
                          std::vector<mvccpb::KeyValue> kvs) {
  if (r.max_mod_revision != 0) Prune(&kvs, [&](const auto& kv) { return kv.mod_revision() > r.max_mod_revision; });
  if (r.min_mod_revision != 0) Prune(&kvs, [&](const auto& kv) { return kv.mod_revision() < r.min_mod_revision; });
  if (r.max_create_revision != 0) Prune(&kvs, [&](const auto& kv) { return kv.create_revision() > r.max_create_revision; });
  if (r.min_create_revision != 0) Prune(&kvs, [&](const auto& kv) { return kv.create_revision() < r.min_create_revision; });

  SortOrder order = r.sort_order;
  // The index returns keys ascending, so only a non-key target needs a default order.
  if (r.sort_target != SortTarget::kKey && order == SortOrder::kNone) order = SortOrder::kAscend;
  if (order != SortOrder::kNone) {
    // Stable, so ties stay in key order. etcd's Go sort is not stable in general (it
    // is for the short inputs where insertion sort runs); clients cannot rely on the
    // order of ties, and a stable order makes ours reproducible.
    KvLess less = LessFor(r.sort_target);
    if (order == SortOrder::kAscend) {
      std::stable_sort(kvs.begin(), kvs.end(), less);
    } else {
      std::stable_sort(kvs.begin(), kvs.end(), [&](const auto& a, const auto& b) { return less(b, a); });
    }
  }

  RangeResponse response;
  response.revision = header_revision;
  response.count = count;
  if (r.limit > 0 && static_cast<int64_t>(kvs.size()) > r.limit) {
    kvs.resize(static_cast<size_t>(r.limit));
    response.more = true;
  }
  if (r.keys_only) {
    for (auto& kv : kvs) kv.clear_value();
  }
  response.kvs = std::move(kvs);
  return response;
}

}  // namespace etcpp::mvcc
