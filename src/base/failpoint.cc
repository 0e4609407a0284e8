#include "base/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace etcpp::base {

FailpointAction ParseFailpoint(std::string_view spec, std::string_view name) {
  while (!spec.empty()) {
    size_t end = spec.find(';');
    std::string_view entry = spec.substr(0, end);
    spec = end == std::string_view::npos ? std::string_view() : spec.substr(end + 1);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || entry.substr(0, eq) != name) continue;
    std::string_view action = entry.substr(eq + 1);
    FailpointAction out;
    if (size_t at = action.find('@'); at != std::string_view::npos) {
      std::string_view count = action.substr(at + 1);
      auto [ptr, error] = std::from_chars(count.data(), count.data() + count.size(), out.from_hit);
      if (error != std::errc() || ptr != count.data() + count.size() || out.from_hit == 0) return {};
      action = action.substr(0, at);
    }
    if (action.starts_with("crash+") && action.ends_with("ms")) {
      std::string_view ms = action.substr(6, action.size() - 8);
      auto [ptr, error] = std::from_chars(ms.data(), ms.data() + ms.size(), out.crash_delay_ms);
      if (error != std::errc() || ptr != ms.data() + ms.size()) return {};
      action = "crash";
    }
    if (action == "crash") out.kind = FailpointAction::Kind::kCrash;
    else if (action == "error") out.kind = FailpointAction::Kind::kError;
    else return {};
    return out;
  }
  return {};
}

bool HitFailpoint(const char* name) {
  struct Armed {
    FailpointAction action;
    std::atomic<uint64_t> hits{0};
  };
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Armed>> armed;  // guarded by mu
  static const char* spec = std::getenv("ETCPP_FAILPOINTS");
  if (spec == nullptr) return false;
  Armed* point;
  {
    std::lock_guard lock(mu);
    auto& slot = armed[name];
    if (!slot) {
      slot = std::make_unique<Armed>();
      slot->action = ParseFailpoint(spec, name);
    }
    point = slot.get();
  }
  if (point->action.kind == FailpointAction::Kind::kNone) return false;
  if (point->hits.fetch_add(1) + 1 < point->action.from_hit) return false;
  // Written with write(2): the log may be buffered, and a crash must still be explained.
  std::string line = std::string("failpoint ") + name + " hit\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  if (point->action.kind == FailpointAction::Kind::kCrash) {
    std::this_thread::sleep_for(std::chrono::milliseconds(point->action.crash_delay_ms));
    ::raise(SIGKILL);
  }
  errno = EIO;
  return true;
}

}  // namespace etcpp::base
