// etcpp-chaos: runs concurrent clients against a real etcd or etcpp member while a
// nemesis kills and pauses it, then checks the recorded history for linearizability and
// the final state for durability (HashKV equal across one more kill -9 and restart, and
// every key read back into the checked history).
//
//   etcpp-chaos --server etcd|etcpp [--seconds S] [--seed N] [--runs R] [--clients C]
//               [--plant stale-read] [--keep DIR|none]
//
// Run i uses seed N + i. A failing run keeps its history, the checker's report, the
// fault log and the member logs in a directory under DIR (default $TMPDIR or /tmp), and
// prints its name; `--keep none` keeps nothing (for runs meant to fail, as in ctest).
// The last line is "P passed, F failed"; the exit code is 0 only when every run passed.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/chaos/cluster.h"
#include "tests/chaos/linearizability.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/workload.h"

namespace etcpp::chaos {
namespace {

struct Options {
  e2e::Server::Kind kind = e2e::Server::Kind::kEtcpp;
  std::string server = "etcpp";
  int seconds = 30;
  uint64_t seed = 1;
  int runs = 1;
  int clients = 4;
  bool plant_stale_read = false;
  std::string keep_root;
};

// A decimal number, or false: no exceptions for a bad flag value.
template <typename T>
bool Number(const std::string& text, T& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool ParseOptions(int argc, char** argv, Options& options) {
  const char* tmp = getenv("TMPDIR");
  options.keep_root = tmp != nullptr ? tmp : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--server" && (value == "etcd" || value == "etcpp")) {
      options.server = value;
      options.kind = value == "etcd" ? e2e::Server::Kind::kEtcd : e2e::Server::Kind::kEtcpp;
    } else if ((flag == "--seconds" && Number(value, options.seconds)) ||
               (flag == "--seed" && Number(value, options.seed)) ||
               (flag == "--runs" && Number(value, options.runs)) ||
               (flag == "--clients" && Number(value, options.clients))) {
      continue;
    } else if (flag == "--plant" && value == "stale-read") {
      options.plant_stale_read = true;
    } else if (flag == "--keep") {
      options.keep_root = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.seconds > 0 && options.runs > 0 && options.clients > 0;
}

struct Hash {
  bool ok = false;
  uint32_t hash = 0;
  int64_t revision = 0;
};

Hash HashKv(const std::string& endpoint) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(
      grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.set_wait_for_ready(true);  // the member may have just restarted
  etcdserverpb::HashKVRequest request;
  etcdserverpb::HashKVResponse response;
  Hash out;
  out.ok = maintenance->HashKV(&context, request, &response).ok();
  out.hash = response.hash();
  out.revision = response.header().revision();
  return out;
}

struct Counts {
  int ok = 0, failed = 0, unknown = 0;
};

Counts CountOutcomes(const History& history) {
  Counts c;
  for (const auto& op : history) {
    c.ok += op.outcome == Outcome::kOk;
    c.failed += op.outcome == Outcome::kFailed;
    c.unknown += op.outcome == Outcome::kUnknown;
  }
  return c;
}

// Copies what a failing run leaves for a person to read; returns the directory.
std::string Keep(const Options& options, uint64_t seed, const History& history, const std::string& verdict,
                 const NemesisReport& faults, const Cluster& cluster) {
  std::string pattern = options.keep_root + "/etcpp-chaos-" + options.server + "-seed" +
                        std::to_string(seed) + "-XXXXXX";
  std::string dir = mkdtemp(pattern.data()) != nullptr ? pattern : options.keep_root;
  std::ofstream(dir + "/history.txt") << Format(history);
  std::ofstream(dir + "/verdict.txt") << verdict;
  std::ofstream faults_file(dir + "/faults.txt");
  for (const auto& line : faults.log) faults_file << line << "\n";
  for (int m = 0; m < cluster.size(); ++m) std::ofstream(dir + "/member" + std::to_string(m) + ".log") << cluster.Log(m);
  return dir;
}

struct Run {
  uint64_t seed = 0;
  History history;
  NemesisReport faults;
  Hash before, after;
  CheckResult check;
  double check_s = 0;
  int planted_reads = 0;
  std::string problems;  // empty when the run passed
};

// Loads the cluster under faults for the run's time, then stops everything and takes
// the final HashKV on both sides of one more kill -9.
void LoadUnderFaults(const Options& options, Cluster& cluster, Run& run) {
  if (!cluster.Start()) run.problems += " member did not start;";
  WorkloadOptions workload_options{.clients = options.clients, .seed = run.seed,
                                   .plant_stale_read = options.plant_stale_read};
  Workload workload(cluster.Endpoints(), workload_options);
  workload.Start();
  std::atomic<bool> stop{false};
  std::thread nemesis([&] { run.faults = RunNemesis(cluster, {.seed = run.seed}, stop); });
  std::this_thread::sleep_for(std::chrono::seconds(options.seconds));
  stop = true;
  nemesis.join();
  workload.Stop();
  run.before = HashKv(cluster.Endpoints()[0]);
  if (!cluster.KillAndRestart(0)) run.problems += " final restart not healthy;";
  run.after = HashKv(cluster.Endpoints()[0]);
  workload.FinalReads();
  run.history = workload.history();
  run.planted_reads = workload.planted_reads();
}

void Check(Run& run) {
  // A long run on hot keys needs more steps than the default (the cost grows as
  // operations x pending unknown writes); minimizing is bounded so a failing run
  // reports within seconds, even if less minimized.
  CheckOptions check_options{.steps_max = 300'000'000, .minimize_attempts_max = 400,
                             .minimize_steps_max = 200'000};
  auto start = std::chrono::steady_clock::now();
  run.check = CheckLinearizable(run.history, check_options);
  run.check_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (run.check.verdict != Verdict::kLinearizable)
    run.problems += std::string(" history ") + VerdictName(run.check.verdict) + ";";
  if (!run.before.ok || !run.after.ok) run.problems += " HashKV failed;";
  if (run.before.hash != run.after.hash || run.before.revision != run.after.revision)
    run.problems += " HashKV changed across restart;";
  if (run.faults.failed_restarts > 0) run.problems += " a restart was not healthy;";
}

void Print(const Options& options, int index, const Run& run) {
  Counts counts = CountOutcomes(run.history);
  std::string planted =
      options.plant_stale_read ? ", " + std::to_string(run.planted_reads) + " planted stale reads" : "";
  std::string result = run.problems.empty() ? "PASS" : "FAIL:" + run.problems;
  std::printf("run %d (%s, seed %llu, %d s): %zu operations (%d ok, %d failed, %d unknown), "
              "faults: %d kill -9, %d pause; anomalies: %d (%s, %d partitions, %lld steps, %.2f s); "
              "HashKV %08x at rev %lld, after restart %08x at rev %lld%s: %s\n",
              index + 1, options.server.c_str(), static_cast<unsigned long long>(run.seed), options.seconds,
              run.history.size(), counts.ok, counts.failed, counts.unknown, run.faults.kills,
              run.faults.pauses, run.check.verdict == Verdict::kNotLinearizable ? 1 : 0,
              VerdictName(run.check.verdict), run.check.partitions, static_cast<long long>(run.check.steps),
              run.check_s, run.before.hash, static_cast<long long>(run.before.revision), run.after.hash,
              static_cast<long long>(run.after.revision), planted.c_str(), result.c_str());
  if (run.check.verdict == Verdict::kNotLinearizable) std::printf("%s", run.check.Explain().c_str());
}

// One run: start, load under faults, stop, check, print; true if it passed.
bool RunOnce(const Options& options, int index) {
  e2e::TempDir dir;
  Run run;
  run.seed = options.seed + static_cast<uint64_t>(index);
  // Destroyed (members killed, logs saved) before the temp dir goes.
  Cluster cluster(options.kind, dir.path(), 1);
  LoadUnderFaults(options, cluster, run);
  Check(run);
  Print(options, index, run);
  if (!run.problems.empty() && options.keep_root != "none") {
    std::printf("  kept in %s\n",
                Keep(options, run.seed, run.history, run.check.Explain(), run.faults, cluster).c_str());
  }
  std::fflush(stdout);
  return run.problems.empty();
}

}  // namespace
}  // namespace etcpp::chaos

int main(int argc, char** argv) {
  etcpp::chaos::Options options;
  if (!etcpp::chaos::ParseOptions(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: etcpp-chaos --server etcd|etcpp [--seconds S] [--seed N] [--runs R] "
                 "[--clients C] [--plant stale-read] [--keep DIR|none]\n");
    return 2;
  }
  int passed = 0, failed = 0;
  for (int run = 0; run < options.runs; ++run) (etcpp::chaos::RunOnce(options, run) ? passed : failed)++;
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
