// Structured logs as JSON lines in the shape of etcd's zap output, so the tools that
// read etcd's logs read ours:
//   {"level":"info","ts":"2026-11-25T14:40:01.123Z","caller":"server/server.cc:88",
//    "msg":"starting etcpp","name":"default","data-dir":"default.etcpp"}
// Thread-safe; one line per call, written to stderr. The level is process-wide.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace etcpp::base {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kPanic, kFatal };

// "debug", "info", … as etcd's --log-level spells them.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

using LogField = std::pair<std::string_view, nlohmann::ordered_json>;

// `file` and `line` default to the caller's (std::source_location is not available to
// clang 14, which the fuzz and sanitizer builds use).
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {},
         const char* file = __builtin_FILE(), int line = __builtin_LINE());

}  // namespace etcpp::base
