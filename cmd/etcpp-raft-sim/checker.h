// Checker: the safety invariants of a simulated raft cluster, fed by the simulator as
// each member persists, applies and changes role. It keeps the global truth seen so
// far (who led each term, which entry is committed at each index, the state after
// applying each index) and records the first violation.
//
//   one-leader-per-term  — no two members lead the same term.
//   log-matching         — two entries with the same index and term hold the same data
//                          and follow the same term (so the logs agree before them).
//   leader-completeness  — a new leader's log holds every entry committed so far.
//   committed-durable    — a committed entry never changes, in any member's durable
//                          log, across crashes and restarts.
//   applied-prefix       — every member applies one common sequence, in order.
//   linearizable-read    — a ReadIndex is at least every commit known when it was asked.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "etcpp/raftpb.pb.h"
#include "raft/storage.h"

namespace etcpp::raftsim {

struct Violation {
  std::string invariant;
  std::string detail;
};

uint64_t EntryHash(const raftpb::Entry& e);
// The state after applying `entry` to a state summarised by `chain`.
uint64_t ChainNext(uint64_t chain, const raftpb::Entry& entry);

// Snapshot data: the state machine summary (applied index and hash).
std::string EncodeState(uint64_t applied, uint64_t chain);
uint64_t DecodeChain(const std::string& data);

class Checker {
 public:
  // The bootstrap snapshot every initial member starts from.
  void Bootstrap(uint64_t index, uint64_t term, uint64_t chain);

  // `storage` still holds the log before the append.
  void OnAppend(uint64_t node, const std::vector<raftpb::Entry>& entries,
                const raft::MemoryStorage& storage);
  // The member persisted commit index `commit`; its storage holds the entries.
  void OnCommit(uint64_t node, uint64_t commit, const raft::MemoryStorage& storage);
  void OnLeader(uint64_t node, uint64_t term, const raft::MemoryStorage& storage);
  void OnApply(uint64_t node, uint64_t index, uint64_t chain);
  void OnSnapshot(uint64_t node, const raftpb::SnapshotMetadata& meta, uint64_t chain);
  void OnReadRequested(const std::string& context) { read_floor_[context] = committed_max_; }
  void OnReadState(uint64_t node, uint64_t index, const std::string& context);
  void ForgetCommitCheck(uint64_t node) { checked_commit_.erase(node); }

  const std::optional<Violation>& violation() const { return violation_; }

 private:
  void Fail(const std::string& invariant, const std::string& detail);
  void CheckCommitted(uint64_t node, uint64_t index, uint64_t term);

  std::map<uint64_t, uint64_t> leaders_;  // term -> leader
  std::set<std::pair<uint64_t, uint64_t>> leaders_checked_;
  struct LogRecord {
    uint64_t hash;
    uint64_t prev_term;
  };
  std::map<std::pair<uint64_t, uint64_t>, LogRecord> log_;  // (index, term)
  std::vector<uint64_t> committed_terms_;                   // index -> term, 0 = unknown
  uint64_t committed_max_ = 0;
  std::vector<uint64_t> chains_;                 // index -> state after applying it, 0 = unknown
  std::map<uint64_t, uint64_t> checked_commit_;  // node -> commit index verified
  std::unordered_map<std::string, uint64_t> read_floor_;
  std::optional<Violation> violation_;
};

}  // namespace etcpp::raftsim
