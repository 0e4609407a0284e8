#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstring>

namespace etcpp::base {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kPanic: return "panic";
    case LogLevel::kFatal: return "fatal";
  }
  return "info";
}

// A logger that writes the line as given: the JSON is built here, not by a pattern.
spdlog::logger& Sink() {
  static auto logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("etcpp", sink);
    l->set_pattern("%v");
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

// zap's ISO8601 timestamp with milliseconds, in UTC.
std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc;
  gmtime_r(&t, &utc);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms.count()));
  return buf;
}

// "server/server.cc:88": the path below src/, as zap shows "etcdserver/server.go:88".
std::string Caller(std::string_view file, int line) {
  if (size_t src = file.rfind("/src/"); src != std::string_view::npos) file.remove_prefix(src + 5);
  else if (size_t slash = file.rfind('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return std::string(file) + ":" + std::to_string(line);
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError,
                         LogLevel::kPanic, LogLevel::kFatal}) {
    if (name == LevelName(level)) return level;
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level.store(level); }

bool LogEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields,
         const char* file, int line) {
  if (!LogEnabled(level)) return;
  nlohmann::ordered_json entry;
  entry["level"] = LevelName(level);
  entry["ts"] = Timestamp();
  entry["caller"] = Caller(file, line);
  entry["msg"] = message;
  for (const auto& [key, value] : fields) entry[std::string(key)] = value;
  // Invalid UTF-8 in a key or value must not throw out of a log call.
  Sink().info(entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace etcpp::base
