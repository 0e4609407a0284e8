#include "tests/chaos/nemesis.h"

#include <chrono>
#include <random>
#include <thread>

#include "tests/chaos/workload.h"

namespace etcpp::chaos {

namespace {

// Sleeps up to `ms`, waking early when stop is set.
void Sleep(int64_t ms, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

int64_t Uniform(std::mt19937_64& random, int64_t min, int64_t max) {
  return std::uniform_int_distribution<int64_t>(min, max)(random);
}

}  // namespace

NemesisReport RunNemesis(Cluster& cluster, const NemesisOptions& options, const std::atomic<bool>& stop) {
  std::mt19937_64 random(options.seed);
  NemesisReport report;
  int64_t origin = NowNs();
  auto note = [&](const std::string& what) {
    report.log.push_back(std::to_string((NowNs() - origin) / 1'000'000) + "ms " + what);
  };
  while (true) {
    Sleep(Uniform(random, options.interval_ms_min, options.interval_ms_max), stop);
    if (stop.load()) break;
    int member = static_cast<int>(random() % cluster.size());
    std::string target = "member " + std::to_string(member);
    if (random() % 2 == 0) {
      note("kill -9 " + target);
      bool healthy = cluster.KillAndRestart(member);
      ++report.kills;
      report.failed_restarts += healthy ? 0 : 1;
      note(healthy ? "restarted " + target : "restart of " + target + " NOT healthy");
    } else {
      int64_t ms = Uniform(random, options.pause_ms_min, options.pause_ms_max);
      note("pause " + target + " for " + std::to_string(ms) + "ms");
      cluster.Pause(member);
      ++report.pauses;
      // The pause is not cut short by stop: the run ends after it, like any other.
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      cluster.Resume(member);
      note("resume " + target);
    }
  }
  cluster.ResumeAll();
  return report;
}

}  // namespace etcpp::chaos
