// The linearizability checker: is there an order of the operations of a history that
// respects real time (an operation that completed before another was invoked comes
// first) in which every answer is what a single etcd key-value store would have given?
//
// The history is split by key: operations on different keys never constrain each other
// in this model, so each partition (the keys an operation touches, joined by range
// counts that span several) is searched alone. The search is Wing & Gong's, as improved
// by Lowe and used by porcupine: walk the calls in invocation order, linearize a call
// whose answer the model accepts, backtrack at the first return whose call could not be
// placed, and remember every (set of linearized operations, model state) already
// explored so no configuration is searched twice. Operations of unknown outcome never
// return; the search succeeds once every operation that did return is placed, and a
// configuration is pruned when one with the same completed set and state and a subset
// of its unknown operations was already explored (having fewer of them placed leaves
// more choices, so the superset cannot succeed where the subset failed).
//
// On failure the checker reports the smallest sub-history it can find that is still not
// linearizable: a shortest failing prefix, then operations relaxed away (reads dropped,
// writes made of unknown outcome, and dropped once no remaining answer may have seen
// them). Relaxing only removes constraints, so the sub-history shows a real anomaly of
// the history: a stale read keeps the write it saw and the write it missed. Writes shown
// "unknown" there matter only as writes that may have happened.
//
// Thread-compatible: one call, one thread; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/history.h"

namespace etcpp::chaos {

struct CheckOptions {
  // Search steps allowed per partition (per attempt while minimizing): an exponential
  // history gives up with kUnknown instead of running for hours.
  int64_t steps_max = 50'000'000;
  // Search attempts the minimization of one failing partition may make, and the steps
  // each may take (an attempt that gives up counts as not failing).
  int minimize_attempts_max = 2000;
  int64_t minimize_steps_max = 1'000'000;
};

enum class Verdict { kLinearizable, kNotLinearizable, kUnknown };

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  int partitions = 0;
  int64_t steps = 0;  // search steps, over all partitions
  // When not linearizable: the keys of the failing partition and its smallest failing
  // sub-history found (relaxed writes appear with an unknown outcome).
  std::vector<std::string> keys;
  History sub_history;
  // For people: what failed, and the sub-history one operation per line.
  std::string Explain() const;
};

CheckResult CheckLinearizable(const History& history, const CheckOptions& options = {});

const char* VerdictName(Verdict verdict);

}  // namespace etcpp::chaos
