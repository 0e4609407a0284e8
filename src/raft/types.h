// Small vocabulary shared by every file of the raft core: node ids, roles and the
// deterministic random generator. Nothing here does I/O or keeps global state.
#pragma once

#include <cstdint>

namespace etcpp::raft {

// Node ids are chosen by the caller; 0 means "nobody" (no leader, no vote).
inline constexpr uint64_t kNone = 0;

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };

const char* RoleName(Role role);

// A small, fully specified generator (splitmix64) so that a seed gives the same
// election timeouts on every platform and standard library; std::uniform_*_distribution
// is implementation-defined and would break replay of a simulated run.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound); bound > 0. The modulo bias is irrelevant for timeouts.
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

}  // namespace etcpp::raft
