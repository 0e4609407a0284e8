// Cluster: one simulated raft cluster driven by one seed. Members are RawNodes over
// MemoryStorages (their "disks"); the network is a list of messages with delivery
// times. Every random choice comes from one generator, so a seed replays exactly.
//
// A round is one tick of every live member followed by delivering every message that
// is due (in random order). During the chaos phase of a cycle, rounds also lose,
// duplicate and delay messages, partition the network, crash and restart members,
// change the membership, compact logs, transfer leadership and read. Then every fault
// heals and the cluster must commit a new entry within a bounded number of ticks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checker.h"
#include "raft/rawnode.h"

namespace etcpp::raftsim {

struct SimOptions {
  bool trace = false;
  raft::PlantedBug plant = raft::PlantedBug::kNone;
};

struct SimResult {
  std::optional<Violation> violation;
  uint64_t step = 0;
  uint64_t tick = 0;
};

class Cluster {
 public:
  // `step_out`, if set, is kept up to date with the current step (for crash reports).
  Cluster(uint64_t seed, const SimOptions& options, volatile uint64_t* step_out);
  SimResult Run();

 private:
  struct Node {
    uint64_t id = 0;
    raft::MemoryStorage storage;          // what survives a crash
    std::unique_ptr<raft::RawNode> raft;  // null while down
    bool removed = false;
    uint64_t incarnation = 0;
    // The state machine: the last applied index and a hash of everything applied.
    uint64_t applied = 0;
    uint64_t chain = 0;
    raftpb::ConfState conf;
  };
  struct InFlight {
    raftpb::Message message;
    uint64_t due;
  };

  void Bootstrap();
  Node* AddNode(uint64_t id);
  void Start(Node& n);
  void Crash(Node& n, const char* why);
  void HandleReady(Node& n);
  void PersistReady(Node& n, raft::Ready& rd);
  void ApplyCommitted(Node& n, const std::vector<raftpb::Entry>& entries);
  void ApplyConfEntry(Node& n, const raftpb::Entry& e);
  void Send(std::vector<raftpb::Message> messages);
  void Deliver(raftpb::Message m);
  void ReportSnapshot(uint64_t leader, uint64_t to, bool ok);
  void DeliverDue();
  void TickAll();
  void Chaos();
  void ClientActions();  // proposals and reads
  void Faults();
  void ChangeMembership(Node& leader);
  void Partition();
  void Compact(Node& n);
  void Heal();
  bool CheckLiveness();
  void AfterEvent();

  Node* Leader();
  Node* RandomLive();
  std::vector<Node*> LiveNodes();
  bool Blocked(uint64_t from, uint64_t to) const { return blocked_.count({from, to}) != 0; }
  bool Chance(double p) { return static_cast<double>(rng_.Below(1000000)) < p * 1000000.0; }
  void Trace(const std::string& line);
  raft::Config MakeConfig(const Node& n);

  uint64_t seed_;
  SimOptions options_;
  raft::Random rng_;
  Checker checker_;
  std::map<uint64_t, std::unique_ptr<Node>> nodes_;
  std::vector<InFlight> network_;
  std::set<std::pair<uint64_t, uint64_t>> blocked_;  // (from, to) pairs cut off
  volatile uint64_t* step_out_;
  uint64_t step_ = 0;
  uint64_t now_ = 0;
  uint64_t next_id_ = 1;
  uint64_t proposals_ = 0;
  uint64_t reads_ = 0;
  bool chaos_ = false;
  std::string marker_;  // the entry the liveness check waits for
  bool marker_applied_ = false;

  // Per-seed fault rates and limits.
  double drop_ = 0;
  double duplicate_ = 0;
  uint64_t delay_max_ = 0;
  uint64_t append_bytes_max_ = 0;
  size_t inflight_max_ = 0;
  double crash_ = 0;                // per round: crash a random member
  double leader_crash_ = 0;         // per round: crash the leader
  double restart_ = 0;              // per round: restart a crashed member
  double leader_moment_crash_ = 0;  // per Ready of a new leader or a leader's commit
};

}  // namespace etcpp::raftsim
