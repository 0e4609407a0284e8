// The in-process test cluster (see test_network.h).
#include "raft/test_network.h"

#include <gtest/gtest.h>

namespace etcpp::raft {

raftpb::Entry TestEntry(uint64_t index, uint64_t term, std::string data) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

void FillLog(MemoryStorage& storage, uint64_t first, const std::vector<uint64_t>& terms,
             uint64_t hs_term, uint64_t hs_vote) {
  std::vector<raftpb::Entry> entries;
  for (uint64_t t : terms) entries.push_back(TestEntry(first++, t));
  ASSERT_TRUE(storage.Append(entries).ok());
  raftpb::HardState hs = storage.hard_state();
  hs.set_term(hs_term);
  hs.set_vote(hs_vote);
  storage.SetHardState(hs);
}

std::vector<raftpb::Message> ReadyMessages(RawNode& node, MemoryStorage& storage) {
  std::vector<raftpb::Message> out;
  while (node.HasReady()) {
    Ready rd = node.GetReady();
    if (rd.snapshot) {
      EXPECT_TRUE(storage.ApplySnapshot(*rd.snapshot).ok());
    }
    EXPECT_TRUE(storage.Append(rd.entries).ok());
    if (rd.hard_state) storage.SetHardState(*rd.hard_state);
    for (raftpb::Message& m : rd.messages) out.push_back(std::move(m));
    node.Advance();
  }
  return out;
}

raftpb::Message TestMessage(raftpb::MessageType type, uint64_t from, uint64_t to, uint64_t term) {
  raftpb::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

TestNetwork::TestNetwork(std::vector<uint64_t> voters, std::vector<uint64_t> learners,
                         std::function<void(Config&)> tweak)
    : tweak_(std::move(tweak)) {
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(1);
  snap.mutable_metadata()->set_term(1);
  for (uint64_t id : voters) snap.mutable_metadata()->mutable_conf_state()->add_voters(id);
  for (uint64_t id : learners) snap.mutable_metadata()->mutable_conf_state()->add_learners(id);
  std::vector<uint64_t> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  for (uint64_t id : all) {
    auto storage = std::make_unique<MemoryStorage>();
    EXPECT_TRUE(storage->ApplySnapshot(snap).ok());
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_commit(1);
    storage->SetHardState(hs);
    storage_[id] = std::move(storage);
    Restart(id);
  }
}

Config TestNetwork::MakeConfig(uint64_t id) {
  Config c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.storage = storage_.at(id).get();
  c.applied = storage_.at(id)->FirstIndex() - 1;
  c.random_seed = 42;
  if (tweak_) tweak_(c);
  return c;
}

void TestNetwork::AddMember(uint64_t id) {
  storage_[id] = std::make_unique<MemoryStorage>();
  Restart(id);
}

void TestNetwork::Restart(uint64_t id) {
  base::Result<std::unique_ptr<RawNode>> node = RawNode::Create(MakeConfig(id));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  nodes_[id] = std::move(*node);
  applied_[id].clear();
}

void TestNetwork::Cut(uint64_t a, uint64_t b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void TestNetwork::Isolate(uint64_t id) {
  for (const auto& entry : nodes_) {
    if (entry.first != id) Cut(id, entry.first);
  }
}

void TestNetwork::HealAll() {
  cut_.clear();
  filter_ = nullptr;
}

void TestNetwork::HandleReady(uint64_t id) {
  RawNode& n = *nodes_.at(id);
  MemoryStorage& s = *storage_.at(id);
  while (n.HasReady()) {
    Ready rd = n.GetReady();
    if (rd.snapshot) {
      ASSERT_TRUE(s.ApplySnapshot(*rd.snapshot).ok());
    }
    ASSERT_TRUE(s.Append(std::move(rd.entries)).ok());
    if (rd.hard_state) s.SetHardState(*rd.hard_state);
    for (raftpb::Message& m : rd.messages) queue_.push_back(std::move(m));
    for (const raftpb::Entry& e : rd.committed_entries) {
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
        raftpb::ConfChange cc;
        ASSERT_TRUE(cc.ParseFromString(e.data()));
        (void)n.ApplyConfChange(cc);
      } else if (!e.data().empty()) {
        applied_[id].push_back(e.data());
      }
    }
    for (ReadState& rs : rd.read_states) read_states_[id].push_back(std::move(rs));
    n.Advance();
  }
}

void TestNetwork::Drain() {
  for (int round = 0; round < 10000; ++round) {
    for (const auto& entry : nodes_) HandleReady(entry.first);
    if (queue_.empty()) return;
    std::vector<raftpb::Message> batch = std::move(queue_);
    queue_.clear();
    for (raftpb::Message& m : batch) {
      if (nodes_.count(m.to()) == 0 || cut_.count({m.from(), m.to()}) != 0) continue;
      if (filter_ && filter_(m)) continue;
      delivered_.push_back(m);
      const uint64_t to = m.to();
      (void)nodes_.at(to)->Step(std::move(m));
      HandleReady(to);
    }
  }
  FAIL() << "the network did not settle";
}

void TestNetwork::Campaign(uint64_t id) {
  nodes_.at(id)->Campaign();
  Drain();
}

void TestNetwork::Tick(uint64_t id, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    nodes_.at(id)->Tick();
    Drain();
  }
}

void TestNetwork::TickAll(int ticks) {
  for (int i = 0; i < ticks; ++i) {
    for (const auto& entry : nodes_) nodes_.at(entry.first)->Tick();
    Drain();
  }
}

base::Status TestNetwork::Propose(uint64_t id, const std::string& data) {
  base::Status s = nodes_.at(id)->Propose(data);
  Drain();
  return s;
}

}  // namespace etcpp::raft
