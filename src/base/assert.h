// Always-on assertions for invariants. A failed one is a bug in etcpp, never an
// operating error: it prints where and what, then aborts so the member stops before it
// can write or acknowledge anything wrong (etcd-raft panics for the same reason).
#pragma once

namespace etcpp::base {
[[noreturn]] void AssertFailed(const char* expr, const char* file, int line, const char* message);
}  // namespace etcpp::base

#define ETCPP_ASSERT(cond)                                                         \
  do {                                                                             \
    if (!(cond)) [[unlikely]]                                                      \
      ::etcpp::base::AssertFailed(#cond, __FILE__, __LINE__, nullptr);             \
  } while (0)

#define ETCPP_ASSERT_MSG(cond, message)                                            \
  do {                                                                             \
    if (!(cond)) [[unlikely]]                                                      \
      ::etcpp::base::AssertFailed(#cond, __FILE__, __LINE__, (message));           \
  } while (0)
