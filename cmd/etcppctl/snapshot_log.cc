#include "snapshot_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace etcpp::ctl {

void LogInfo(const std::string& caller, const std::string& message, const std::string& fields, bool iso_time) {
  const auto now = std::chrono::system_clock::now();
  char ts[64];
  if (iso_time) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    const size_t n = std::strftime(ts, sizeof ts, "\"%Y-%m-%dT%H:%M:%S", &tm);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::snprintf(ts + n, sizeof ts - n, ".%03lldZ\"", static_cast<long long>(millis));
  } else {
    std::snprintf(ts, sizeof ts, "%.7f", std::chrono::duration<double>(now.time_since_epoch()).count());
  }
  std::cerr << "{\"level\":\"info\",\"ts\":" << ts << ",\"caller\":\"" << caller << "\",\"msg\":\"" << message << "\""
            << fields << "}\n";
}

}  // namespace etcpp::ctl
