// The nemesis: injects process faults into the cluster on a schedule drawn from a seed
// (the same seed gives the same kinds, targets and waits; the moments they hit the
// clients still vary with the machine). Faults:
//   kill    kill -9 of a member, restarted at once on its data dir and ports;
//   pause   SIGSTOP of a member for a while, then SIGCONT.
// Run() owns the cluster until it returns; it returns within ~a pause of stop being set,
// with every member continued.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/cluster.h"

namespace etcpp::chaos {

struct NemesisOptions {
  uint64_t seed = 1;
  int64_t interval_ms_min = 1000;  // quiet time between faults
  int64_t interval_ms_max = 3000;
  int64_t pause_ms_min = 200;
  int64_t pause_ms_max = 1500;
};

struct NemesisReport {
  int kills = 0;
  int pauses = 0;
  int failed_restarts = 0;
  std::vector<std::string> log;  // one line per fault, with its time
};

NemesisReport RunNemesis(Cluster& cluster, const NemesisOptions& options, const std::atomic<bool>& stop);

}  // namespace etcpp::chaos
