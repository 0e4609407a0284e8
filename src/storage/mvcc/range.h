// The pure parts of a range read, exactly as etcd v3.5 does them (etcdserver's apply.go
// Range around mvcc's rangeKeys): which revision to read, how many revisions to ask the
// index for, and the filtering, sorting and truncation applied afterwards — including
// how `more` and `count` come out.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "storage/mvcc/types.h"

namespace etcpp::mvcc {

// The revision a read of `requested` sees: the current one when requested <= 0.
// ErrFutureRev above `current`, ErrCompacted below `compacted` (reading exactly at
// the compacted revision is allowed).
base::Result<int64_t> ReadRevision(int64_t requested, int64_t current, int64_t compacted);

// How many revisions to fetch: everything when the result will be sorted or filtered
// (they run on the whole result), else one more than `limit` so that `more` can be told.
int64_t IndexLimit(const RangeRequest& request);

// Applies the min/max revision filters, the sort, `limit` (setting `more`) and
// keys_only to `kvs` (key-ordered, as fetched). `count` is the index's total.
RangeResponse FinishRange(const RangeRequest& request, int64_t header_revision, int64_t count,
                          std::vector<mvccpb::KeyValue> kvs);

}  // namespace etcpp::mvcc
