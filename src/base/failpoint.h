// Failpoints: named places in the server where a test build can crash or fail on
// purpose, to show that a crash or an I/O error there loses nothing acknowledged.
//
//   ETCPP_FAILPOINT("wal-before-fsync");               // may crash here
//   if (ETCPP_FAILPOINT_ERROR("wal-fdatasync") || ...)  // true: act as if the call failed
//
// Compiled in only with the CMake option ETCPP_FAILPOINTS (otherwise the macros are
// nothing and `false`, so release builds carry no trace). Activated by the environment:
//   ETCPP_FAILPOINTS="wal-before-fsync=crash@100;wal-fdatasync=error"
// `crash` kills the process with SIGKILL (as kill -9 would: nothing is flushed);
// `crash+50ms` holds the thread that reached the point for 50 ms first, while the
// process's other threads run on (messages already queued leave, as they would while a
// slow fsync is under way when the power is cut); `error` makes the failpoint answer
// true, with errno set to EIO; `@N` arms it from the N-th time it is reached (default:
// the first). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace etcpp::base {

struct FailpointAction {
  enum class Kind { kNone, kCrash, kError };
  Kind kind = Kind::kNone;
  uint64_t from_hit = 1;
  uint64_t crash_delay_ms = 0;
};

// The action `spec` (the environment variable's value) gives `name`: kNone when the
// name is absent or its action is malformed.
FailpointAction ParseFailpoint(std::string_view spec, std::string_view name);

// Reached failpoint `name`: crashes, or returns true for an `error` action.
bool HitFailpoint(const char* name);

}  // namespace etcpp::base

#ifdef ETCPP_FAILPOINTS
#define ETCPP_FAILPOINT(name) (void)::etcpp::base::HitFailpoint(name)
#define ETCPP_FAILPOINT_ERROR(name) ::etcpp::base::HitFailpoint(name)
#else
#define ETCPP_FAILPOINT(name) (void)0
#define ETCPP_FAILPOINT_ERROR(name) false
#endif
