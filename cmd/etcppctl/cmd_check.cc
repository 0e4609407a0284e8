// check perf: etcdctl 3.4's write-performance check. For 60 s it puts 256-byte random
// keys with 1 KiB values under a prefix, paced at the load's rate with at most its
// number of requests in flight, then deletes the prefix and judges throughput (> 90 % of
// the rate), the slowest request (<= 0.5 s) and the latencies' standard deviation
// (<= 0.1 s) as etcdctl does. The puts go asynchronously over one connection instead
// of etcdctl's one client per simulated client: the server sees the same concurrency.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "commands.h"
#include "global.h"

namespace etcpp::ctl {
namespace {

using Clock = std::chrono::steady_clock;

struct Load {
  int rate_per_second;
  int clients;
  int duration_seconds;
};

// Results of the puts, filled on the client's poller thread.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::vector<double> latencies_seconds;
  std::map<std::string, int> errors;
};

// pb's bar in etcdctl's "Bom !" format, redrawn in place once a second.
void DrawProgress(int done, int total) {
  constexpr int kWidth = 50;
  const int filled = kWidth * done / total;
  const std::string head = filled > 0 ? std::string(filled - 1, 'o') + "m" : "";
  const std::string bar = "B" + head + std::string(kWidth - filled, ' ') + "!";
  std::printf("\r%3d / %d %s %.2f%%", done, total, bar.c_str(), 100.0 * done / total);
  if (done == total) std::printf("\n");
  std::fflush(stdout);
}

// A key as etcdctl makes it: a zigzag varint of a random number over a 256-byte buffer
// that keeps the bytes of earlier, longer varints.
void RandomKey(std::string& key, std::mt19937_64& random) {
  const int64_t n = static_cast<int64_t>(random() >> 1);
  uint64_t zigzag = static_cast<uint64_t>(n) << 1;
  size_t i = 0;
  for (; zigzag >= 0x80; zigzag >>= 7) key[i++] = static_cast<char>(zigzag | 0x80);
  key[i] = static_cast<char>(zigzag);
}

void CheckPerfRun(Command& c, const std::vector<std::string>&) {
  static const std::map<std::string, Load> loads = {
      {"s", {150, 50, 60}},     {"small", {150, 50, 60}},     {"m", {1000, 200, 60}},    {"medium", {1000, 200, 60}},
      {"l", {8000, 500, 60}},   {"large", {8000, 500, 60}},   {"xl", {15000, 1000, 60}}, {"xLarge", {15000, 1000, 60}}};
  const auto found = loads.find(c.GetString("load"));
  if (found == loads.end()) ExitWithError(kExitBadFeature, "unknown load option " + c.GetString("load"));
  const Load load = found->second;
  const std::string prefix = c.GetString("prefix");
  auto client = MustClient(c);
  etcdserverpb::RangeRequest probe;
  probe.set_key(prefix);
  probe.set_range_end(client::PrefixRangeEnd(prefix));
  probe.set_limit(1);
  auto existing = client->Range(probe);
  if (!existing.ok()) ExitWithError(kExitError, existing.status().message());
  if (existing->kvs_size() > 0)
    ExitWithError(kExitInvalidInput, "prefix \"" + prefix + "\" has keys. Delete with etcdctl del --prefix " + prefix +
                                         " first");

  Tally tally;
  std::mt19937_64 random(std::random_device{}());
  std::string key(256, '\0');
  etcdserverpb::PutRequest put;
  put.set_value(std::string(1024, '\0'));
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(load.duration_seconds);
  std::thread progress([&] {
    for (int second = 1; second <= load.duration_seconds; ++second) {
      std::this_thread::sleep_until(start + std::chrono::seconds(second));
      DrawProgress(second, load.duration_seconds);
    }
  });
  // A limiter with a burst of one, as etcdctl's: evenly spaced, no catching up.
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / load.rate_per_second);
  for (auto next = start; next < end; next = std::max(next + interval, Clock::now())) {
    std::this_thread::sleep_until(next);
    {
      std::unique_lock lock(tally.mu);
      tally.cv.wait(lock, [&] { return tally.in_flight < load.clients; });
      ++tally.in_flight;
    }
    RandomKey(key, random);
    put.set_key(prefix + key);
    client->PutAsync(put, [&tally, sent = Clock::now()](base::Result<etcdserverpb::PutResponse> result) {
      const double seconds = std::chrono::duration<double>(Clock::now() - sent).count();
      std::lock_guard lock(tally.mu);
      if (result.ok()) {
        tally.latencies_seconds.push_back(seconds);
      } else {
        ++tally.errors[result.status().message()];
      }
      --tally.in_flight;
      tally.cv.notify_all();
    });
  }
  {
    std::unique_lock lock(tally.mu);
    tally.cv.wait(lock, [&] { return tally.in_flight == 0; });
  }
  const double total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  progress.join();

  etcdserverpb::DeleteRangeRequest del;
  del.set_key(prefix);
  del.set_range_end(client::PrefixRangeEnd(prefix));
  auto deleted = client->DeleteRange(del);
  if (!deleted.ok()) ExitWithError(kExitError, deleted.status().message());
  if (c.GetBool("auto-compact")) {
    const int64_t revision = deleted->header().revision();
    std::printf("Compacting with revision %lld\n", static_cast<long long>(revision));
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(revision);
    compact.set_physical(true);
    auto compacted = client->Compact(compact);
    if (!compacted.ok()) ExitWithError(kExitError, compacted.status().message());
    std::printf("Compacted with revision %lld\n", static_cast<long long>(revision));
  }
  if (c.GetBool("auto-defrag")) {
    client::Config config = MustClientConfig(c);
    for (const auto& endpoint : config.endpoints) {
      std::printf("Defragmenting \"%s\"\n", endpoint.c_str());
      client::Config one = config;
      one.endpoints = {endpoint};
      auto member = client::Client::Connect(one);
      if (!member.ok()) ExitWithError(kExitError, member.status().message());
      auto defragmented = (*member)->Defragment(etcdserverpb::DefragmentRequest());
      if (!defragmented.ok()) ExitWithError(kExitError, defragmented.status().message());
      std::printf("Defragmented \"%s\"\n", endpoint.c_str());
    }
  }

  const auto& latencies = tally.latencies_seconds;
  const double rps = static_cast<double>(latencies.size()) / total_seconds;
  double mean = 0, slowest = 0, variance = 0;
  for (double l : latencies) mean += l / static_cast<double>(latencies.size());
  for (double l : latencies) {
    slowest = std::max(slowest, l);
    variance += (l - mean) * (l - mean);
  }
  const double stddev = latencies.empty() ? 0 : std::sqrt(variance / static_cast<double>(latencies.size()));
  bool ok = true;
  if (!tally.errors.empty()) {
    std::printf("FAIL: too many errors\n");
    for (const auto& [error, count] : tally.errors) std::printf("FAIL: ERROR(%s) -> %d\n", error.c_str(), count);
    ok = false;
  }
  if (rps / load.rate_per_second <= 0.9) {
    std::printf("FAIL: Throughput too low: %d writes/s\n", static_cast<int>(rps) + 1);
    ok = false;
  } else {
    std::printf("PASS: Throughput is %d writes/s\n", static_cast<int>(rps) + 1);
  }
  if (slowest > 0.5) {
    std::printf("Slowest request took too long: %fs\n", slowest);
    ok = false;
  } else {
    std::printf("PASS: Slowest request took %fs\n", slowest);
  }
  if (stddev > 0.1) {
    std::printf("Stddev too high: %fs\n", stddev);
    ok = false;
  } else {
    std::printf("PASS: Stddev is %fs\n", stddev);
  }
  std::printf(ok ? "PASS\n" : "FAIL\n");
  std::fflush(stdout);
  Exit(ok ? kExitSuccess : kExitError);
}

}  // namespace

std::unique_ptr<Command> NewCheckCommand() {
  auto check = MakeCommand("check <subcommand>", "commands for checking properties of the etcd cluster");
  auto perf = MakeCommand("perf [options]", "Check the performance of the etcd cluster", CheckPerfRun);
  perf->AddFlag("load", "", FlagType::kString, "s",
                "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)");
  perf->AddFlag("prefix", "", FlagType::kString, "/etcdctl-check-perf/",
                "The prefix for writing the performance check's keys.");
  perf->AddFlag("auto-compact", "", FlagType::kBool, "false",
                "Compact storage with last revision after test is finished.");
  perf->AddFlag("auto-defrag", "", FlagType::kBool, "false", "Defragment storage after test is finished.");
  check->Add(std::move(perf));
  return check;
}

}  // namespace etcpp::ctl
