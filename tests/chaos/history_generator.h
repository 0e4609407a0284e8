// Random histories of a correct key-value store, for tests and the checker benchmark.
//
// Clients issue operations back to back with random latencies; each operation takes
// effect at a random instant between its invocation and its completion, in the order of
// those instants, on an in-memory store with etcd's revision rules. Some writes get an
// unknown outcome (and take effect or not, at random). Optionally some reads are made
// stale on purpose: they return the value before the key's latest write although that
// write completed before the read began — a history that must be rejected.
#pragma once

#include <cstdint>

#include "tests/chaos/history.h"

namespace etcpp::chaos {

struct GeneratorOptions {
  uint64_t seed = 1;
  int operations = 1000;
  int keys = 10;
  int clients = 8;
  int64_t latency_ns_max = 2'000'000;
  double unknown_fraction = 0.01;   // of writes
  int keys_per_range_count = 4;     // range counts span this many neighbouring keys
  int stale_reads = 0;              // planted anomalies
};

History GenerateHistory(const GeneratorOptions& options);

}  // namespace etcpp::chaos
