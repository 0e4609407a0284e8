// Majority quorums over a set of voter ids: the commit index a majority has reached,
// and the outcome of a vote. Pure functions of their inputs.
//
// Example: voters {1,2,3} with acknowledged indexes {1:7, 2:5, 3:9}: sorted descending
// 9,7,5; a majority is 2, so the committed index is the 2nd largest, 7.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace etcpp::raft {

enum class VoteResult { kPending, kLost, kWon };

class MajorityConfig {
 public:
  MajorityConfig() = default;

  void Add(uint64_t id);
  void Remove(uint64_t id);
  bool Contains(uint64_t id) const;
  const std::vector<uint64_t>& ids() const { return ids_; }  // sorted
  size_t size() const { return ids_.size(); }

  // The largest index acknowledged by a majority. `acked(id)` returns the index voter
  // id has acknowledged, or nullopt if unknown (counted as 0). An empty config commits
  // everything (it imposes no constraint; callers never use an empty one).
  template <typename Acked>
  uint64_t CommittedIndex(const Acked& acked) const;

  // Votes: id -> granted. Missing voters have not answered yet.
  VoteResult Tally(const std::map<uint64_t, bool>& votes) const;

 private:
  std::vector<uint64_t> ids_;
};

template <typename Acked>
uint64_t MajorityConfig::CommittedIndex(const Acked& acked) const {
  const size_t n = ids_.size();
  if (n == 0) return UINT64_MAX;
  // Small clusters are the rule; avoid a heap allocation for up to 7 voters.
  uint64_t stack[7];
  std::vector<uint64_t> heap;
  uint64_t* indexes = stack;
  if (n > 7) {
    heap.resize(n);
    indexes = heap.data();
  }
  for (size_t i = 0; i < n; ++i) {
    std::optional<uint64_t> a = acked(ids_[i]);
    indexes[i] = a.value_or(0);
  }
  // Insertion sort, descending: n is tiny.
  for (size_t i = 1; i < n; ++i) {
    for (size_t j = i; j > 0 && indexes[j - 1] < indexes[j]; --j)
      std::swap(indexes[j - 1], indexes[j]);
  }
  return indexes[n / 2];  // the (n/2+1)-th largest: held by a majority
}

}  // namespace etcpp::raft
