// etcpp-chaos: runs concurrent clients against a real etcd or etcpp cluster while a
// nemesis kills, pauses and partitions its members and slows their links (nemesis.h),
// then heals everything and checks the recorded history for linearizability and the
// final state for convergence and durability (every member's HashKV equal, and equal
// again after every member is killed -9 and restarted; every key read back into the
// checked history).
//
//   etcpp-chaos --server etcd|etcpp [--members M] [--seconds S] [--seed N] [--runs R]
//               [--members M] [--clients C] [--plant stale-read|serializable-reads] [--watch on|off]
//               [--failpoints on|off] [--keep DIR|none]
//
// Run i uses seed N + i. A failing run keeps its history, the checker's report, the
// fault log and the member logs in a directory under DIR (default $TMPDIR or /tmp), and
// prints its name; `--keep none` keeps nothing (for runs meant to fail, as in ctest).
// --watch (default: on) follows the keys with a watcher through the faults and checks
// its streams. --failpoints on (etcpp built with ETCPP_FAILPOINTS) adds crashes at the
// server's failpoints to the nemesis's faults.
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
#include "tests/chaos/watcher.h"
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
  int members = 3;
  bool plant_stale_read = false;
  bool serializable_reads = false;
  bool watch = true;
  bool failpoints = false;
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
               (flag == "--clients" && Number(value, options.clients)) ||
               (flag == "--members" && Number(value, options.members))) {
      continue;
    } else if (flag == "--plant" && value == "stale-read") {
      options.plant_stale_read = true;
    } else if (flag == "--plant" && value == "serializable-reads") {
      options.serializable_reads = true;
    } else if (flag == "--failpoints" && (value == "on" || value == "off")) {
      options.failpoints = value == "on";
    } else if (flag == "--watch" && (value == "on" || value == "off")) {
      options.watch = value == "on";
    } else if (flag == "--keep") {
      options.keep_root = value;
    } else {
      return false;
    }
  }
  if (options.failpoints && options.kind != e2e::Server::Kind::kEtcpp) return false;
  return argc % 2 == 1 && options.seconds > 0 && options.runs > 0 && options.clients > 0 &&
         options.members > 0 && options.members <= 9;
}

struct Hash {
  bool ok = false;
  uint32_t hash = 0;
  int64_t revision = 0;
  bool operator==(const Hash&) const = default;
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

// Every member's HashKV once they all reached the same revision (followers catch up
// after the faults are healed), or as they were after 30 s.
std::vector<Hash> HashAll(const Cluster& cluster) {
  std::vector<Hash> hashes;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    hashes.clear();
    for (const auto& endpoint : cluster.Endpoints()) hashes.push_back(HashKv(endpoint));
    bool agree = true;
    for (const auto& h : hashes) agree = agree && h.ok && h.revision == hashes[0].revision;
    if (agree || std::chrono::steady_clock::now() > deadline) return hashes;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string Format(const std::vector<Hash>& hashes) {
  std::string out;
  char line[64];
  for (const auto& h : hashes) {
    std::snprintf(line, sizeof(line), "%s%08x@%lld", out.empty() ? "" : " ", h.hash,
                  static_cast<long long>(h.revision));
    out += h.ok ? line : (out.empty() ? "failed" : " failed");
  }
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
  std::vector<Hash> before, after;
  CheckResult check;
  double check_s = 0;
  int planted_reads = 0;
  WatchCheckResult watch;
  size_t watch_sessions = 0;
  std::string problems;  // empty when the run passed
};

// Loads the cluster under faults for the run's time, then stops everything and takes
// every member's HashKV on both sides of one more kill -9 of them all.
void LoadUnderFaults(const Options& options, Cluster& cluster, Run& run) {
  if (!cluster.Start()) run.problems += " member did not start;";
  WorkloadOptions workload_options{.clients = options.clients, .seed = run.seed,
                                   .plant_stale_read = options.plant_stale_read,
                                   .serializable_reads = options.serializable_reads};
  Workload workload(cluster.Endpoints(), workload_options);
  Watcher watcher(cluster.Endpoints(), workload_options.prefix);
  workload.Start();
  if (options.watch) watcher.Start();
  std::atomic<bool> stop{false};
  NemesisOptions nemesis_options;
  nemesis_options.seed = run.seed;
  if (options.failpoints) {
    nemesis_options.failpoints = {"wal-before-fsync", "wal-after-fsync", "backend-before-commit",
                                  "backend-after-commit", "raft-before-save-snapshot", "raft-after-save-snapshot"};
  }
  if (cluster.size() == 1) nemesis_options.interval_ms_min = 1000, nemesis_options.interval_ms_max = 3000,
                           nemesis_options.fault_ms_min = 200, nemesis_options.fault_ms_max = 1500;
  std::thread nemesis([&] { run.faults = RunNemesis(cluster, nemesis_options, stop); });
  std::this_thread::sleep_for(std::chrono::seconds(options.seconds));
  stop = true;
  nemesis.join();
  workload.Stop();
  run.before = HashAll(cluster);
  int64_t last = run.before[0].revision;
  if (options.watch) watcher.Stop(last, 30);
  std::vector<int> all;
  for (int i = 0; i < cluster.size(); ++i) all.push_back(i);
  if (!cluster.KillAndRestart(all)) run.problems += " final restart not healthy;";
  run.after = HashAll(cluster);
  workload.FinalReads();
  run.history = workload.history();
  // The watcher's sessions against the whole history of the prefix, itself checked
  // against every write the clients were told succeeded.
  if (!options.watch) return;
  std::vector<WatchEvent> reference;
  if (!Reference(cluster.Endpoints()[0], workload_options.prefix, last, reference))
    run.problems += " could not read the watch history;";
  run.watch = CheckWatch(reference, watcher.sessions(), true);
  run.watch_sessions = watcher.sessions().size();
  for (const auto& problem : Crosscheck(reference, run.history)) run.watch.problems.push_back(problem);
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
  for (const auto& h : run.before) {
    if (!h.ok) run.problems += " HashKV failed;";
    else if (!(h == run.before[0])) run.problems += " members' HashKV differ;";
  }
  if (run.after != run.before) run.problems += " HashKV changed across restart;";
  if (!run.watch.ok()) run.problems += " watch: " + run.watch.problems[0] + ";";
  if (run.faults.failed_restarts > 0) run.problems += " a restart was not healthy;";
}

void Print(const Options& options, int index, const Run& run) {
  Counts counts = CountOutcomes(run.history);
  std::string planted =
      options.plant_stale_read ? ", " + std::to_string(run.planted_reads) + " planted stale reads" : "";
  std::string result = run.problems.empty() ? "PASS" : "FAIL:" + run.problems;
  std::string watch = options.watch ? "watch: " + std::to_string(run.watch.events_checked) + " events over " +
                                          std::to_string(run.watch_sessions) + " sessions, " +
                                          std::to_string(run.watch.problems.size()) + " problems"
                                    : "watch not checked";
  int anomalies =
      (run.check.verdict == Verdict::kNotLinearizable ? 1 : 0) + static_cast<int>(run.watch.problems.size());
  std::printf("run %d (%s, %d members, seed %llu, %d s): %zu operations (%d ok, %d failed, %d unknown), "
              "faults: %s; anomalies: %d (%s, %d partitions, %lld steps, %.2f s; %s); HashKV %s, "
              "after restart %s%s: %s\n",
              index + 1, options.server.c_str(), options.members, static_cast<unsigned long long>(run.seed),
              options.seconds, run.history.size(), counts.ok, counts.failed, counts.unknown,
              run.faults.Summary().c_str(), anomalies, VerdictName(run.check.verdict), run.check.partitions,
              static_cast<long long>(run.check.steps), run.check_s, watch.c_str(), Format(run.before).c_str(),
              Format(run.after).c_str(), planted.c_str(), result.c_str());
  if (run.check.verdict == Verdict::kNotLinearizable) std::printf("%s", run.check.Explain().c_str());
}

// One run: start, load under faults, stop, check, print; true if it passed.
bool RunOnce(const Options& options, int index) {
  e2e::TempDir dir;
  Run run;
  run.seed = options.seed + static_cast<uint64_t>(index);
  // Destroyed (members killed, logs saved) before the temp dir goes.
  Cluster cluster(options.kind, dir.path(), options.members, run.seed);
  LoadUnderFaults(options, cluster, run);
  Check(run);
  Print(options, index, run);
  if (!run.problems.empty() && options.keep_root != "none") {
    std::printf("  kept in %s\n",
                Keep(options, run.seed, run.history, run.check.Explain() + run.watch.Explain(), run.faults, cluster).c_str());
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
                 "[--members M] [--clients C] [--plant stale-read|serializable-reads] [--watch on|off] [--failpoints on|off] [--keep DIR|none]\n");
    return 2;
  }
  int passed = 0, failed = 0;
  for (int run = 0; run < options.runs; ++run) (etcpp::chaos::RunOnce(options, run) ? passed : failed)++;
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
