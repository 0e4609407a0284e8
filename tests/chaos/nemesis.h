// The nemesis: injects faults into the cluster on a schedule drawn from a seed (the same
// seed gives the same kinds, targets and waits; the moments they hit the clients still
// vary with the machine). It cycles through every kind that applies, in an order
// shuffled anew each cycle, so even a short run sees each kind. Faults:
//   kill-leader, kill-follower   kill -9 of one member, restarted at once on its data
//                                dir and ports (one member: kill);
//   kill-majority                kill -9 of a majority, restarted together a moment later;
//   pause                        SIGSTOP of a member (the leader half of the time) for a
//                                while, then SIGCONT;
//   partition-halves             a random minority cut off from the majority;
//   isolate-leader               the leader cut off from everyone;
//   bridge                       two sides that cannot reach each other, and one member
//                                reaching both;
//   loss, delay                  every peer link loses (retransmission delays) or delays
//                                its bytes;
//   replace-member               a membership change: a follower removed, its data dir
//                                wiped, added back and started empty (Cluster::Replace);
//   failpoint                    (with `failpoints`: etcpp built with ETCPP_FAILPOINTS)
//                                a member restarted with one of them armed to crash
//                                after 1-50 hits; once it crashed (or the fault's time
//                                is up) it is restarted clean;
//   lose-unsynced                (with `failpoints`, 3 members; twice a cycle) a follower
//                                crashes just before its WAL save while the third member
//                                is cut off, then the leader is killed and comes back
//                                only once the two others elected a leader (see
//                                LoseUnsynced).
// A partition is a blackhole or a cut (proxy.h), chosen per fault. Network faults last a
// while and are healed before the next fault. Run() owns the cluster until it returns;
// it returns within ~a fault's length of stop being set, with every member continued
// and every link healed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/chaos/cluster.h"

namespace etcpp::chaos {

struct NemesisOptions {
  uint64_t seed = 1;
  int64_t interval_ms_min = 500;  // quiet time between faults
  int64_t interval_ms_max = 2000;
  int64_t fault_ms_min = 300;  // how long a pause, a partition or a slow network lasts
  int64_t fault_ms_max = 3000;
  std::vector<std::string> failpoints;  // names to arm; empty: no failpoint faults
};

struct NemesisReport {
  std::map<std::string, int> faults;  // by kind
  int failed_restarts = 0;
  int failpoint_crashes = 0;
  std::vector<std::string> log;  // one line per fault, with its time
  // "3 kill-leader, 2 pause, ..."
  std::string Summary() const;
};

NemesisReport RunNemesis(Cluster& cluster, const NemesisOptions& options, const std::atomic<bool>& stop);

}  // namespace etcpp::chaos
