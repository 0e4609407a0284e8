#include "tests/chaos/nemesis.h"

#include <algorithm>
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

std::string Names(const std::vector<int>& members) {
  std::string out;
  for (int m : members) out += (out.empty() ? "" : ",") + std::to_string(m);
  return "member" + std::string(members.size() > 1 ? "s " : " ") + out;
}

class Nemesis {
 public:
  Nemesis(Cluster& cluster, const NemesisOptions& options, const std::atomic<bool>& stop)
      : cluster_(cluster), options_(options), stop_(stop), random_(options.seed), origin_(NowNs()) {}

  NemesisReport Run() {
    std::vector<std::string> kinds = {"kill-leader", "kill-follower", "kill-majority", "pause",
                                      "partition-halves", "isolate-leader", "bridge", "loss", "delay",
                                      "replace-member"};
    if (cluster_.size() == 1) kinds = {"kill", "pause"};
    if (!options_.failpoints.empty()) kinds.push_back("failpoint");
    // Twice a cycle: the only fault that can show a member acknowledging before its fsync.
    if (!options_.failpoints.empty() && cluster_.size() == 3) kinds.insert(kinds.end(), 2, "lose-unsynced");
    std::vector<std::string> cycle;
    while (true) {
      Sleep(Uniform(random_, options_.interval_ms_min, options_.interval_ms_max), stop_);
      if (stop_.load()) break;
      if (cycle.empty()) {
        cycle = kinds;
        std::shuffle(cycle.begin(), cycle.end(), random_);
      }
      std::string kind = cycle.back();
      cycle.pop_back();
      ++report_.faults[kind];
      Inject(kind);
    }
    cluster_.ResumeAll();
    if (cluster_.proxies()) cluster_.proxies()->HealAll();
    return report_;
  }

 private:
  void Note(const std::string& what) {
    report_.log.push_back(std::to_string((NowNs() - origin_) / 1'000'000) + "ms " + what);
  }
  int64_t Hold() { return Uniform(random_, options_.fault_ms_min, options_.fault_ms_max); }
  int Any() { return static_cast<int>(random_() % cluster_.size()); }
  // The leader, or any member when none is known (an election is under way).
  int LeaderOrAny() {
    int leader = cluster_.Leader();
    return leader >= 0 ? leader : Any();
  }
  std::vector<int> Shuffled() {
    std::vector<int> members(cluster_.size());
    for (int i = 0; i < cluster_.size(); ++i) members[i] = i;
    std::shuffle(members.begin(), members.end(), random_);
    return members;
  }

  void Inject(const std::string& kind) {
    if (kind == "kill" || kind == "kill-leader" || kind == "kill-follower") {
      int leader = kind == "kill" ? Any() : LeaderOrAny();
      int member = leader;
      while (kind == "kill-follower" && member == leader) member = Any();
      Kill({member}, 0);
    } else if (kind == "kill-majority") {
      std::vector<int> members = Shuffled();
      members.resize(cluster_.size() / 2 + 1);
      Kill(members, Uniform(random_, 200, 1500));
    } else if (kind == "replace-member") {
      int leader = LeaderOrAny();
      int member = leader;
      while (member == leader) member = Any();
      Note("replace member " + std::to_string(member) + ": remove, wipe, add, start empty");
      std::string failure;
      bool replaced = cluster_.Replace(member, failure);
      report_.failed_restarts += replaced ? 0 : 1;
      Note(replaced ? "member " + std::to_string(member) + " replaced"
                    : "replace of member " + std::to_string(member) + " failed: " + failure);
    } else if (kind == "failpoint") {
      Failpoint(Any());
    } else if (kind == "lose-unsynced") {
      LoseUnsynced();
    } else if (kind == "pause") {
      int member = random_() % 2 ? LeaderOrAny() : Any();
      int64_t ms = Hold();
      Note("pause member " + std::to_string(member) + " for " + std::to_string(ms) + "ms");
      cluster_.Pause(member);
      // Not cut short by stop: the run ends after it, like any other.
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      cluster_.Resume(member);
      Note("resume member " + std::to_string(member));
    } else if (kind == "partition-halves") {
      std::vector<int> order = Shuffled();
      std::vector<int> side(cluster_.size(), 0);
      for (int k = 0; k < cluster_.size() / 2; ++k) side[order[k]] = 1;
      Partition(kind, side, -1);
    } else if (kind == "isolate-leader") {
      std::vector<int> side(cluster_.size(), 0);
      side[LeaderOrAny()] = 1;
      Partition(kind, side, -1);
    } else if (kind == "bridge") {
      // The bridge reaches both sides; the others split as evenly as they can.
      std::vector<int> order = Shuffled();
      std::vector<int> side(cluster_.size(), 0);
      for (int k = 1; k < cluster_.size(); ++k) side[order[k]] = k % 2;
      Partition(kind, side, order[0]);
    } else {
      LinkFault fault;
      if (kind == "loss") fault.loss_percent = static_cast<int>(Uniform(random_, 10, 40));
      if (kind == "delay") fault.delay_ms = Uniform(random_, 20, 300);
      SlowNetwork(kind, fault);
    }
  }

  void Kill(const std::vector<int>& members, int64_t down_ms) {
    Note("kill -9 " + Names(members));
    cluster_.Kill(members);
    std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
    bool healthy = cluster_.Restart(members);
    report_.failed_restarts += healthy ? 0 : 1;
    Note(healthy ? "restarted " + Names(members) : "restart of " + Names(members) + " NOT healthy");
  }

  void Failpoint(int member) {
    const auto& names = options_.failpoints;
    std::string armed = names[random_() % names.size()] + "=crash@" + std::to_string(Uniform(random_, 1, 50));
    int64_t ms = Hold();
    Note("restart member " + std::to_string(member) + " with " + armed);
    cluster_.Kill({member});
    // Not necessarily healthy: it may crash before it answers.
    (void)cluster_.Restart({member}, armed);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!cluster_.Exited(member) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    bool crashed = cluster_.Exited(member);
    report_.failpoint_crashes += crashed ? 1 : 0;
    Kill({member}, 0);
    Note(crashed ? "member " + std::to_string(member) + " crashed at the failpoint" : "failpoint not reached");
  }

  // The one window where a member acknowledging entries before they are durable loses
  // committed writes (ETCPP_PLANT=ack-before-fsync). With the third member cut off, the
  // leader commits on one follower's acknowledgement alone; that follower stalls 200 ms
  // just before its WAL save (long enough for anything it queued to reach the leader)
  // and crashes without having written; the leader is killed before anyone else has the
  // entries. Then the follower and the third member elect a leader without them, and
  // only after that the old leader comes back: if it had committed entries the others
  // lost, it must now truncate them (raft refuses, the member stops) or diverge. Were it
  // restarted at once, its longer log would often win the election and hide the loss. A
  // correct member crashing there has acknowledged nothing unsaved: the old leader's
  // extra entries were never committed, and truncating them is legitimate.
  void LoseUnsynced() {
    int leader = cluster_.Leader();
    if (leader < 0) return Note("lose-unsynced skipped: no leader");
    int follower = (leader + 1 + static_cast<int>(random_() % 2)) % 3;
    int other = 3 - leader - follower;
    LinkFault cut{.mode = LinkMode::kCut};
    for (int j : {leader, follower}) cluster_.proxies()->Set(other, j, cut), cluster_.proxies()->Set(j, other, cut);
    std::string armed = "wal-before-fsync=crash+200ms@" + std::to_string(Uniform(random_, 3, 30));
    Note("lose-unsynced: member " + std::to_string(other) + " cut off, follower " + std::to_string(follower) +
         " restarted with " + armed);
    cluster_.Kill({follower});
    (void)cluster_.Restart({follower}, armed);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(Hold());
    while (!cluster_.Exited(follower) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    bool crashed = cluster_.Exited(follower);
    report_.failpoint_crashes += crashed ? 1 : 0;
    // Long enough for the leader to answer clients for what it committed.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Note(std::string(crashed ? "follower crashed at the failpoint" : "failpoint not reached") + "; kill -9 leader " +
         std::to_string(leader));
    cluster_.Kill({leader, follower});
    cluster_.proxies()->HealAll();
    bool healthy = cluster_.Restart({follower});
    auto elected_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int elected = -1;
    while (healthy && elected < 0 && std::chrono::steady_clock::now() < elected_by) {
      elected = cluster_.Leader();
      if (elected < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Note("member " + std::to_string(elected) + " elected; restart old leader " + std::to_string(leader));
    healthy = cluster_.Restart({leader}) && healthy;
    report_.failed_restarts += healthy ? 0 : 1;
    Note(healthy ? "healed, restarted" : "restart NOT healthy");
  }

  // Cuts every link between members on different sides, except the bridge's.
  void Partition(const std::string& kind, const std::vector<int>& side, int bridge) {
    LinkFault fault;
    fault.mode = random_() % 2 ? LinkMode::kBlackhole : LinkMode::kCut;
    std::string sides[2];
    for (int i = 0; i < cluster_.size(); ++i) {
      if (i == bridge) continue;
      sides[side[i]] += std::to_string(i);
      for (int j = 0; j < cluster_.size(); ++j)
        if (j != bridge && side[i] != side[j]) cluster_.proxies()->Set(i, j, fault);
    }
    int64_t ms = Hold();
    Note(kind + " (" + (fault.mode == LinkMode::kCut ? "cut" : "blackhole") + ") " + sides[0] + " | " +
         sides[1] + (bridge >= 0 ? " bridged by " + std::to_string(bridge) : "") + " for " +
         std::to_string(ms) + "ms");
    Sleep(ms, stop_);
    cluster_.proxies()->HealAll();
    Note("healed");
  }

  void SlowNetwork(const std::string& kind, const LinkFault& fault) {
    for (int i = 0; i < cluster_.size(); ++i)
      for (int j = 0; j < cluster_.size(); ++j)
        if (i != j) cluster_.proxies()->Set(i, j, fault);
    int64_t ms = Hold();
    Note(kind + " on every link (delay " + std::to_string(fault.delay_ms) + "ms, loss " +
         std::to_string(fault.loss_percent) + "%) for " + std::to_string(ms) + "ms");
    Sleep(ms, stop_);
    cluster_.proxies()->HealAll();
    Note("healed");
  }

  Cluster& cluster_;
  const NemesisOptions& options_;
  const std::atomic<bool>& stop_;
  std::mt19937_64 random_;
  int64_t origin_;
  NemesisReport report_;
};

}  // namespace

std::string NemesisReport::Summary() const {
  std::string out;
  for (const auto& [kind, count] : faults) out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + kind;
  if (faults.count("failpoint") || faults.count("lose-unsynced"))
    out += " (" + std::to_string(failpoint_crashes) + " crashed at their failpoint)";
  return out.empty() ? "none" : out;
}

NemesisReport RunNemesis(Cluster& cluster, const NemesisOptions& options, const std::atomic<bool>& stop) {
  return Nemesis(cluster, options, stop).Run();
}

}  // namespace etcpp::chaos
