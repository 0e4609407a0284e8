// The simulator's schedule (see cluster.h): random faults and client actions during a
// chaos phase, then healing and the liveness check.
#include <algorithm>

#include "cluster.h"

namespace etcpp::raftsim {

namespace {

constexpr int kCycles = 4;
constexpr int kChaosRounds = 400;
constexpr int kLivenessTicks = 150;
constexpr size_t kVotersMin = 3;
constexpr size_t kVotersMax = 5;
constexpr size_t kMembersMax = 7;

std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace

void Cluster::Partition() {
  blocked_.clear();
  std::vector<Node*> live = LiveNodes();
  if (live.size() < 2) return;
  // Cut one group off from the rest, both ways or one way only: often the leader
  // alone (it goes on accepting proposals that nobody else sees), otherwise a random
  // group.
  std::vector<uint64_t> group, rest;
  Node* leader = Leader();
  const bool isolate_leader = leader != nullptr && rng_.Below(2) == 0;
  for (auto& [id, node] : nodes_) {
    const bool in_group = isolate_leader ? id == leader->id : rng_.Below(2) == 0;
    (in_group ? group : rest).push_back(id);
  }
  const bool one_way = rng_.Below(3) == 0;
  for (uint64_t a : group) {
    for (uint64_t b : rest) {
      blocked_.insert({a, b});
      if (!one_way) blocked_.insert({b, a});
    }
  }
  std::string g;
  for (uint64_t id : group) g += " " + Str(id);
  Trace(std::string(one_way ? "one-way" : "symmetric") + " partition of {" + g + " }");
}

void Cluster::ChangeMembership(Node& leader) {
  std::vector<uint64_t> voters(leader.conf.voters().begin(), leader.conf.voters().end());
  std::vector<uint64_t> learners(leader.conf.learners().begin(), leader.conf.learners().end());
  raftpb::ConfChange cc;
  bool new_node = false;
  switch (rng_.Below(5)) {
    case 0:  // a new learner
      if (voters.size() + learners.size() >= kMembersMax) return;
      cc.set_type(raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
      cc.set_node_id(next_id_);
      new_node = true;
      break;
    case 1:  // promote a learner
      if (learners.empty() || voters.size() >= kVotersMax) return;
      cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
      cc.set_node_id(learners[rng_.Below(learners.size())]);
      break;
    case 2:  // a new voter
      if (voters.size() >= kVotersMax || voters.size() + learners.size() >= kMembersMax) return;
      cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
      cc.set_node_id(next_id_);
      new_node = true;
      break;
    case 3:  // remove a voter (possibly the leader itself)
      if (voters.size() <= kVotersMin) return;
      cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
      cc.set_node_id(voters[rng_.Below(voters.size())]);
      break;
    default:  // remove a learner
      if (learners.empty()) return;
      cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
      cc.set_node_id(learners[rng_.Below(learners.size())]);
      break;
  }
  ++step_;
  const base::Status s = leader.raft->ProposeConfChange(cc);
  Trace("node " + Str(leader.id) + " proposes " + raftpb::ConfChangeType_Name(cc.type()) + " " +
        Str(cc.node_id()) + (s.ok() ? "" : " (refused: " + s.message() + ")"));
  if (s.ok() && new_node) Start(*AddNode(cc.node_id()));
  HandleReady(leader);
}

void Cluster::Compact(Node& n) {
  if (n.applied < n.storage.FirstIndex() + 2) return;
  // Keep a few entries behind the snapshot point now and then, as servers do.
  const uint64_t at = n.applied - rng_.Below(3);
  ++step_;
  base::Result<raftpb::Snapshot> snap =
      n.storage.CreateSnapshot(n.applied, n.conf, EncodeState(n.applied, n.chain));
  if (!snap.ok()) return;
  if (at > n.storage.FirstIndex()) ETCPP_ASSERT(n.storage.Compact(at).ok());
  Trace("node " + Str(n.id) + " snapshots at " + Str(n.applied) + ", compacts to " + Str(at));
}

void Cluster::Chaos() {
  ClientActions();
  Faults();
  AfterEvent();
}

void Cluster::ClientActions() {
  if (Chance(0.6)) {
    if (Node* n = RandomLive()) {
      ++step_;
      const std::string data = "p" + Str(++proposals_);
      const base::Status s = n->raft->Propose(data);
      Trace("node " + Str(n->id) + " proposes " + data + (s.ok() ? "" : " (" + s.message() + ")"));
      HandleReady(*n);
    }
  }
  if (Chance(0.1)) {
    if (Node* n = RandomLive()) {
      ++step_;
      const std::string ctx = "r" + Str(++reads_);
      checker_.OnReadRequested(ctx);
      const base::Status s = n->raft->ReadIndex(ctx);
      Trace("node " + Str(n->id) + " reads " + ctx + (s.ok() ? "" : " (" + s.message() + ")"));
      HandleReady(*n);
    }
  }
}

void Cluster::Faults() {
  if (blocked_.empty() ? Chance(0.04) : Chance(0.06)) {
    ++step_;
    if (blocked_.empty()) {
      Partition();
    } else {
      blocked_.clear();
      Trace("partition healed");
    }
  }
  if (Chance(crash_)) {
    if (Node* n = RandomLive()) {
      ++step_;
      Crash(*n, "fault");
    }
  }
  // Leaders are what the hard cases are about: depose them often.
  if (Chance(leader_crash_)) {
    if (Node* leader = Leader()) {
      ++step_;
      Crash(*leader, "leader fault");
    }
  }
  if (Chance(restart_)) {
    for (auto& [id, node] : nodes_) {
      if (!node->raft && !node->removed) {
        ++step_;
        Start(*node);
        break;
      }
    }
  }
  if (Chance(0.03)) {
    if (Node* leader = Leader()) ChangeMembership(*leader);
  }
  if (Chance(0.05)) {
    if (Node* n = RandomLive()) Compact(*n);
  }
  if (Chance(0.01)) {
    if (Node* leader = Leader()) {
      std::vector<uint64_t> voters(leader->conf.voters().begin(), leader->conf.voters().end());
      if (!voters.empty()) {
        ++step_;
        const uint64_t to = voters[rng_.Below(voters.size())];
        Trace("node " + Str(leader->id) + " transfers leadership to " + Str(to));
        leader->raft->TransferLeader(to);
        HandleReady(*leader);
      }
    }
  }
}

void Cluster::Heal() {
  ++step_;
  blocked_.clear();
  Trace("heal: partitions removed, members restarted, no more message loss");
  for (auto& [id, node] : nodes_) {
    if (!node->raft && !node->removed) Start(*node);
  }
}

bool Cluster::CheckLiveness() {
  marker_ = "live" + Str(now_);
  marker_applied_ = false;
  uint64_t proposed_term = 0;
  for (int t = 0; t < kLivenessTicks && !checker_.violation(); ++t) {
    if (Node* leader = Leader()) {
      const uint64_t term = leader->raft->GetStatus().hard_state.term();
      // Propose once per leadership: a proposal can die with a deposed leader.
      if (term != proposed_term && leader->raft->Propose(marker_).ok()) {
        proposed_term = term;
        Trace("node " + Str(leader->id) + " proposes liveness marker " + marker_);
        HandleReady(*leader);
      }
    }
    TickAll();
    DeliverDue();
    AfterEvent();
    if (marker_applied_) return true;
  }
  return false;
}

SimResult Cluster::Run() {
  Bootstrap();
  SimResult result;
  for (int cycle = 0; cycle < kCycles && !checker_.violation(); ++cycle) {
    chaos_ = true;
    for (int round = 0; round < kChaosRounds && !checker_.violation(); ++round) {
      Chaos();
      TickAll();
      DeliverDue();
      AfterEvent();
    }
    chaos_ = false;
    if (checker_.violation()) break;
    Heal();
    if (!CheckLiveness() && !checker_.violation()) {
      result.violation =
          Violation{"liveness", "no new entry committed within " + Str(kLivenessTicks) +
                                    " ticks after the faults healed"};
      break;
    }
  }
  if (checker_.violation()) result.violation = checker_.violation();
  result.step = step_;
  result.tick = now_;
  return result;
}

}  // namespace etcpp::raftsim
