// TestNetwork: an in-process cluster of RawNodes for unit tests (test-only; not part
// of etcpp_raft). Each member has a MemoryStorage; Drain() runs every member's Ready
// loop (persist, then send, then apply) and delivers messages until nothing moves.
// Links can be cut and messages filtered to build the Raft paper's scenarios.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/rawnode.h"
#include "raft/storage.h"

namespace etcpp::raft {

raftpb::Entry TestEntry(uint64_t index, uint64_t term, std::string data = "");
// Appends entries of the given terms from index `first` on, and sets the hard state.
void FillLog(MemoryStorage& storage, uint64_t first, const std::vector<uint64_t>& terms,
             uint64_t hs_term, uint64_t hs_vote = 0);
// Runs a lone member's Ready loop against its storage; returns the messages it sent.
std::vector<raftpb::Message> ReadyMessages(RawNode& node, MemoryStorage& storage);
raftpb::Message TestMessage(raftpb::MessageType type, uint64_t from, uint64_t to, uint64_t term);

class TestNetwork {
 public:
  // Members `voters` and `learners` start from a snapshot at index 1, term 1.
  // `tweak` may adjust each member's Config.
  TestNetwork(std::vector<uint64_t> voters, std::vector<uint64_t> learners = {},
              std::function<void(Config&)> tweak = nullptr);

  RawNode& node(uint64_t id) { return *nodes_.at(id); }
  const Raft& raft(uint64_t id) { return nodes_.at(id)->raft(); }
  MemoryStorage& storage(uint64_t id) { return *storage_.at(id); }
  // Committed entries each member applied (normal entries with data only).
  const std::vector<std::string>& applied(uint64_t id) { return applied_[id]; }
  std::vector<ReadState>& read_states(uint64_t id) { return read_states_[id]; }

  // Adds a member with empty storage (to be added by a conf change).
  void AddMember(uint64_t id);
  // Restarts a member from its storage, losing everything not persisted.
  void Restart(uint64_t id);

  void Cut(uint64_t a, uint64_t b);  // both directions
  void Isolate(uint64_t id);
  void HealAll();
  // Messages for which the filter returns true are dropped.
  void SetFilter(std::function<bool(const raftpb::Message&)> filter) {
    filter_ = std::move(filter);
  }

  void Drain();
  void Campaign(uint64_t id);
  void Tick(uint64_t id, int ticks = 1);
  void TickAll(int ticks = 1);
  base::Status Propose(uint64_t id, const std::string& data);
  // Every message delivered so far, in order (for assertions on what was sent).
  const std::vector<raftpb::Message>& delivered() const { return delivered_; }
  void ClearDelivered() { delivered_.clear(); }

 private:
  Config MakeConfig(uint64_t id);
  void HandleReady(uint64_t id);

  std::function<void(Config&)> tweak_;
  std::map<uint64_t, std::unique_ptr<MemoryStorage>> storage_;
  std::map<uint64_t, std::unique_ptr<RawNode>> nodes_;
  std::map<uint64_t, std::vector<std::string>> applied_;
  std::map<uint64_t, std::vector<ReadState>> read_states_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
  std::function<bool(const raftpb::Message&)> filter_;
  std::vector<raftpb::Message> queue_;
  std::vector<raftpb::Message> delivered_;
};

}  // namespace etcpp::raft
