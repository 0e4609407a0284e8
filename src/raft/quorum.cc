// Majority vote counting (see quorum.h).
#include "raft/quorum.h"

#include <algorithm>

namespace etcpp::raft {

void MajorityConfig::Add(uint64_t id) {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  if (it == ids_.end() || *it != id) ids_.insert(it, id);
}

void MajorityConfig::Remove(uint64_t id) {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  if (it != ids_.end() && *it == id) ids_.erase(it);
}

bool MajorityConfig::Contains(uint64_t id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

VoteResult MajorityConfig::Tally(const std::map<uint64_t, bool>& votes) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t granted = 0;
  size_t rejected = 0;
  for (uint64_t id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  const size_t quorum = ids_.size() / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (ids_.size() - rejected < quorum) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace etcpp::raft
