// Status and Result<T>: how etcpp code returns operating errors (I/O failures, bad
// requests, compacted revisions). Broken invariants are not errors; they abort (see
// ETCPP_ASSERT in assert.h).
//
// A Status is cheap when OK (one enum, an empty string). The code says what kind of
// failure it is so callers can branch on it; the message is for humans and, where etcd
// has one, is etcd's exact text because clients match on it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace etcpp::base {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kOutOfRange,
  kResourceExhausted,
  kCorruption,
  kIoError,
  kUnavailable,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "<kind>: <message>", for logs.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Code code);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Status status) : state_(std::move(status)) {
    ETCPP_ASSERT(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  T& value() & {
    ETCPP_ASSERT(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    ETCPP_ASSERT(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    ETCPP_ASSERT(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace etcpp::base

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define ETCPP_RETURN_IF_ERROR(expr)             \
  do {                                          \
    ::etcpp::base::Status etcpp_status_ = (expr); \
    if (!etcpp_status_.ok()) return etcpp_status_; \
  } while (0)
