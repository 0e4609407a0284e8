// etcpp-linearizability-bench: how long the checker takes on a generated history of a
// correct store (or one with planted stale reads). A program that prints figures, not a
// timed test.
//
//   etcpp-linearizability-bench [operations] [keys] [unknown_fraction] [keys_per_range_count]
//                               [stale_reads] [seed]
// Defaults: 100000 1000 0.01 4 0 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tests/chaos/history_generator.h"
#include "tests/chaos/linearizability.h"

int main(int argc, char** argv) {
  using namespace etcpp::chaos;
  auto arg = [&](int i, const char* fallback) { return argc > i ? argv[i] : fallback; };
  GeneratorOptions options;
  options.operations = std::atoi(arg(1, "100000"));
  options.keys = std::atoi(arg(2, "1000"));
  options.unknown_fraction = std::atof(arg(3, "0.01"));
  options.keys_per_range_count = std::atoi(arg(4, "4"));
  options.stale_reads = std::atoi(arg(5, "0"));
  options.seed = std::strtoull(arg(6, "1"), nullptr, 10);
  if (options.operations <= 0 || options.keys <= 0 || options.keys_per_range_count <= 0) {
    std::fprintf(stderr, "operations, keys and keys_per_range_count must be positive\n");
    return 2;
  }
  History history = GenerateHistory(options);
  auto start = std::chrono::steady_clock::now();
  CheckResult result = CheckLinearizable(history);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d operations, %d keys, %.3f unknown, counts over %d keys, %d stale: %s, %d partitions, "
              "%lld steps, %.3f s\n",
              options.operations, options.keys, options.unknown_fraction, options.keys_per_range_count,
              options.stale_reads, VerdictName(result.verdict), result.partitions,
              static_cast<long long>(result.steps), seconds);
  if (result.verdict == Verdict::kNotLinearizable) std::printf("%s", result.Explain().c_str());
  return 0;
}
