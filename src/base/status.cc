#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace etcpp::base {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kOutOfRange: return "out of range";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kCorruption: return "corruption";
    case Code::kIoError: return "I/O error";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

void AssertFailed(const char* expr, const char* file, int line, const char* message) {
  std::fprintf(stderr, "etcpp: assertion failed at %s:%d: %s%s%s\n", file, line, expr,
               message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace etcpp::base
