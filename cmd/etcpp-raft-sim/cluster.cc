// The simulated cluster: members, their disks, the network and Ready handling (see
// cluster.h).
#include "cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace etcpp::raftsim {

namespace {

constexpr int kElectionTicks = 10;
constexpr uint64_t kBootstrapChain = 0x5eed;

std::string Str(uint64_t v) { return std::to_string(v); }

std::string Describe(const raftpb::Message& m) {
  std::string s = raftpb::MessageType_Name(m.type()) + " " + Str(m.from()) + "->" + Str(m.to()) +
                  " term=" + Str(m.term());
  if (m.type() == raftpb::MSG_APP) {
    s += " prev=" + Str(m.index()) + "/" + Str(m.log_term()) + " n=" + Str(m.entries_size()) +
         " commit=" + Str(m.commit());
  } else if (m.type() == raftpb::MSG_APP_RESP) {
    s += " index=" + Str(m.index()) + (m.reject() ? " reject hint=" + Str(m.reject_hint()) : "");
  } else if (m.type() == raftpb::MSG_SNAP) {
    s += " snap=" + Str(m.snapshot().metadata().index());
  } else if (m.reject()) {
    s += " reject";
  }
  return s;
}

}  // namespace

Cluster::Cluster(uint64_t seed, const SimOptions& options, volatile uint64_t* step_out)
    : seed_(seed), options_(options), rng_(seed * 0x2545f4914f6cdd1dULL + 1), step_out_(step_out) {}

void Cluster::Trace(const std::string& line) {
  if (options_.trace)
    std::printf("tick %llu step %llu: %s\n", static_cast<unsigned long long>(now_),
                static_cast<unsigned long long>(step_), line.c_str());
}

raft::Config Cluster::MakeConfig(const Node& n) {
  raft::Config c;
  c.id = n.id;
  c.election_ticks = kElectionTicks;
  c.heartbeat_ticks = 1;
  c.storage = const_cast<raft::MemoryStorage*>(&n.storage);
  c.applied = n.applied;
  c.append_bytes_max = append_bytes_max_;
  c.inflight_messages_max = inflight_max_;
  c.random_seed = seed_ * 1000003 + n.id * 7919 + n.incarnation;
  c.planted_bug_for_testing = options_.plant;
  return c;
}

Cluster::Node* Cluster::AddNode(uint64_t id) {
  auto node = std::make_unique<Node>();
  node->id = id;
  Node* n = node.get();
  nodes_.emplace(id, std::move(node));
  next_id_ = std::max(next_id_, id + 1);
  return n;
}

void Cluster::Start(Node& n) {
  ++n.incarnation;
  // The state machine restarts from the snapshot; later committed entries are replayed.
  base::Result<raftpb::Snapshot> snap = n.storage.Snapshot();
  n.applied = snap->metadata().index();
  n.chain = n.applied == 0 ? 0 : DecodeChain(snap->data());
  n.conf = snap->metadata().conf_state();
  checker_.ForgetCommitCheck(n.id);
  checker_.OnCommit(n.id, n.storage.hard_state().commit(), n.storage);
  base::Result<std::unique_ptr<raft::RawNode>> raft = raft::RawNode::Create(MakeConfig(n));
  ETCPP_ASSERT_MSG(raft.ok(), "cannot start a simulated member");
  n.raft = std::move(*raft);
  Trace("start node " + Str(n.id) + " (incarnation " + Str(n.incarnation) + ")");
}

void Cluster::Crash(Node& n, const char* why) {
  n.raft.reset();
  Trace(std::string("crash node ") + Str(n.id) + " (" + why + ")");
}

void Cluster::Bootstrap() {
  const uint64_t voters = std::vector<uint64_t>{3, 3, 4, 5}[rng_.Below(4)];
  const uint64_t learners = rng_.Below(3) == 0 ? 1 : 0;
  drop_ = static_cast<double>(rng_.Below(20)) / 100.0;
  duplicate_ = static_cast<double>(rng_.Below(10)) / 100.0;
  delay_max_ = rng_.Below(4);
  // Small appends and windows exercise probing, pipelining limits and backtracking.
  append_bytes_max_ = rng_.Below(4) != 0 ? 1 : 1 << 20;
  inflight_max_ = 1 + rng_.Below(8);
  crash_ = static_cast<double>(1 + rng_.Below(4)) / 100.0;
  leader_crash_ = static_cast<double>(rng_.Below(9)) / 100.0;
  restart_ = static_cast<double>(3 + rng_.Below(18)) / 100.0;
  leader_moment_crash_ = std::vector<double>{0.002, 0.03, 0.1, 0.3}[rng_.Below(4)];
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(1);
  snap.mutable_metadata()->set_term(1);
  for (uint64_t id = 1; id <= voters; ++id)
    snap.mutable_metadata()->mutable_conf_state()->add_voters(id);
  for (uint64_t id = voters + 1; id <= voters + learners; ++id) {
    snap.mutable_metadata()->mutable_conf_state()->add_learners(id);
  }
  snap.set_data(EncodeState(1, kBootstrapChain));
  checker_.Bootstrap(1, 1, kBootstrapChain);
  for (uint64_t id = 1; id <= voters + learners; ++id) {
    Node* n = AddNode(id);
    ETCPP_ASSERT(n->storage.ApplySnapshot(snap).ok());
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_commit(1);
    n->storage.SetHardState(hs);
    Start(*n);
  }
  Trace("bootstrap " + Str(voters) + " voters, " + Str(learners) + " learners, drop " +
        Str(static_cast<uint64_t>(drop_ * 100)) + "%, dup " +
        Str(static_cast<uint64_t>(duplicate_ * 100)) + "%, delay<=" + Str(delay_max_) +
        ", append bytes " + Str(append_bytes_max_) + ", window " + Str(inflight_max_));
}

void Cluster::PersistReady(Node& n, raft::Ready& rd) {
  if (rd.snapshot) {
    const uint64_t chain = DecodeChain(rd.snapshot->data());
    checker_.OnSnapshot(n.id, rd.snapshot->metadata(), chain);
    ETCPP_ASSERT(n.storage.ApplySnapshot(*rd.snapshot).ok());
    n.applied = rd.snapshot->metadata().index();
    n.chain = chain;
    n.conf = rd.snapshot->metadata().conf_state();
    Trace("node " + Str(n.id) + " installs snapshot " + Str(n.applied));
  }
  if (!rd.entries.empty()) {
    checker_.OnAppend(n.id, rd.entries, n.storage);
    base::Status s = n.storage.Append(std::move(rd.entries));
    ETCPP_ASSERT_MSG(s.ok(), s.message().c_str());
  }
  if (rd.hard_state) {
    n.storage.SetHardState(*rd.hard_state);
    checker_.OnCommit(n.id, rd.hard_state->commit(), n.storage);
  }
  const raft::BasicStatus st = n.raft->GetStatus();
  if (st.soft_state.role == raft::Role::kLeader) {
    checker_.OnLeader(n.id, st.hard_state.term(), n.storage);
  }
  if (rd.soft_state) {
    Trace("node " + Str(n.id) + " is " + raft::RoleName(rd.soft_state->role) + " of term " +
          Str(st.hard_state.term()) + " (leader " + Str(rd.soft_state->leader) + ")");
  }
}

void Cluster::HandleReady(Node& n) {
  while (n.raft && n.raft->HasReady() && !checker_.violation()) {
    raft::Ready rd = n.raft->GetReady();
    PersistReady(n, rd);
    if (checker_.violation()) return;
    // A crash after the disk write but before anything else: the messages are lost.
    // Leaders crash more often just after being elected or advancing the commit
    // index: the Raft paper's hard cases (figure 8) start that way.
    const bool leader_moment = n.raft->GetStatus().soft_state.role == raft::Role::kLeader &&
                               (rd.soft_state || rd.hard_state);
    if (chaos_ && Chance(leader_moment ? leader_moment_crash_ : 0.002)) {
      Crash(n, "after persisting a Ready");
      return;
    }
    Send(std::move(rd.messages));
    ApplyCommitted(n, rd.committed_entries);
    for (const raft::ReadState& rs : rd.read_states)
      checker_.OnReadState(n.id, rs.index, rs.context);
    if (n.raft) n.raft->Advance();
  }
}

void Cluster::ApplyCommitted(Node& n, const std::vector<raftpb::Entry>& entries) {
  for (const raftpb::Entry& e : entries) {
    if (e.index() != n.applied + 1) {
      checker_.OnApply(n.id, e.index(), 0);
      return;
    }
    n.applied = e.index();
    n.chain = ChainNext(n.chain, e);
    checker_.OnApply(n.id, n.applied, n.chain);
    if (!marker_.empty() && e.data() == marker_) marker_applied_ = true;
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) ApplyConfEntry(n, e);
  }
}

void Cluster::ApplyConfEntry(Node& n, const raftpb::Entry& e) {
  raftpb::ConfChange cc;
  ETCPP_ASSERT(cc.ParseFromString(e.data()));
  base::Result<raftpb::ConfState> cs = n.raft->ApplyConfChange(cc);
  n.conf = cs.ok() ? *cs : n.raft->GetConfState();
  if (cc.type() == raftpb::CONF_CHANGE_REMOVE_NODE && cs.ok()) {
    auto it = nodes_.find(cc.node_id());
    // Once its removal is committed, a member is shut down and cut off (as etcd's
    // transport refuses removed members).
    if (it != nodes_.end() && !it->second->removed) {
      it->second->removed = true;
      Trace("node " + Str(cc.node_id()) + " removed");
    }
  }
}

void Cluster::Send(std::vector<raftpb::Message> messages) {
  for (raftpb::Message& m : messages) {
    const uint64_t delay = chaos_ && delay_max_ > 0 ? rng_.Below(delay_max_ + 1) : 0;
    network_.push_back(InFlight{std::move(m), now_ + delay});
  }
}

void Cluster::ReportSnapshot(uint64_t leader, uint64_t to, bool ok) {
  auto it = nodes_.find(leader);
  if (it == nodes_.end() || !it->second->raft) return;
  it->second->raft->ReportSnapshot(to, ok);
  HandleReady(*it->second);
}

void Cluster::Deliver(raftpb::Message m) {
  ++step_;
  if (step_out_) *step_out_ = step_;
  auto it = nodes_.find(m.to());
  auto from = nodes_.find(m.from());
  const bool snap = m.type() == raftpb::MSG_SNAP;
  bool lost = it == nodes_.end() || !it->second->raft || it->second->removed ||
              from == nodes_.end() || from->second->removed || Blocked(m.from(), m.to());
  if (!lost && chaos_) {
    lost = Chance(drop_);
    if (!lost && Chance(duplicate_))
      network_.push_back(InFlight{m, now_ + rng_.Below(delay_max_ + 2)});
  }
  if (lost) {
    Trace("drop " + Describe(m));
    if (snap) ReportSnapshot(m.from(), m.to(), false);
    return;
  }
  Trace("deliver " + Describe(m));
  Node& n = *it->second;
  const uint64_t sender = m.from();
  (void)n.raft->Step(std::move(m));
  HandleReady(n);
  if (snap) ReportSnapshot(sender, n.id, true);
}

void Cluster::DeliverDue() {
  for (int pass = 0; pass < 64 && !checker_.violation(); ++pass) {
    std::vector<raftpb::Message> due;
    for (size_t i = 0; i < network_.size();) {
      if (network_[i].due <= now_) {
        due.push_back(std::move(network_[i].message));
        network_[i] = std::move(network_.back());
        network_.pop_back();
      } else {
        ++i;
      }
    }
    if (due.empty()) return;
    // Random order: messages overtake each other.
    for (size_t i = due.size(); i > 1; --i) std::swap(due[i - 1], due[rng_.Below(i)]);
    for (raftpb::Message& m : due) {
      if (checker_.violation()) return;
      Deliver(std::move(m));
    }
  }
}

void Cluster::TickAll() {
  ++now_;
  for (auto& [id, node] : nodes_) {
    if (!node->raft || node->removed) continue;
    ++step_;
    node->raft->Tick();
    HandleReady(*node);
  }
}

std::vector<Cluster::Node*> Cluster::LiveNodes() {
  std::vector<Node*> out;
  for (auto& [id, node] : nodes_) {
    if (node->raft && !node->removed) out.push_back(node.get());
  }
  return out;
}

Cluster::Node* Cluster::RandomLive() {
  std::vector<Node*> live = LiveNodes();
  return live.empty() ? nullptr : live[rng_.Below(live.size())];
}

Cluster::Node* Cluster::Leader() {
  Node* best = nullptr;
  uint64_t best_term = 0;
  for (Node* n : LiveNodes()) {
    const raft::BasicStatus st = n->raft->GetStatus();
    if (st.soft_state.role == raft::Role::kLeader && st.hard_state.term() >= best_term) {
      best = n;
      best_term = st.hard_state.term();
    }
  }
  return best;
}

void Cluster::AfterEvent() {
  for (auto& [id, node] : nodes_) {
    if (node->removed && node->raft) Crash(*node, "removed from the cluster");
  }
}

}  // namespace etcpp::raftsim
