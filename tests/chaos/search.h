// The search for a linearization of one partition (see linearizability.h for the
// algorithm). Internal to the checker: it takes operations already filtered (no kFailed
// ones, no reads of unknown outcome) and touching only the given keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/history.h"

namespace etcpp::chaos {

enum class SearchVerdict { kLinearizable, kNotLinearizable, kGaveUp };

struct SearchResult {
  SearchVerdict verdict = SearchVerdict::kLinearizable;
  int64_t steps = 0;
};

// `keys` sorted and unique: every key an operation of `ops` touches, plus every key of
// the partition that a range count covers.
SearchResult SearchPartition(const std::vector<const Operation*>& ops,
                             const std::vector<std::string>& keys, int64_t steps_max);

// Whether a range count [op.key, op.range_end) covers `key`: etcd's rules (an empty
// range_end means the key alone, "\0" means every key from op.key on).
bool RangeCovers(const Operation& op, const std::string& key);

}  // namespace etcpp::chaos
