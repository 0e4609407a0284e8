// The simulator's invariant checks (see checker.h).
#include "checker.h"

#include <algorithm>
#include <cstring>

namespace etcpp::raftsim {

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

std::string Str(uint64_t v) { return std::to_string(v); }

void Put(std::vector<uint64_t>* v, uint64_t index, uint64_t value) {
  if (v->size() <= index) v->resize(index + 1, 0);
  (*v)[index] = value;
}

uint64_t Get(const std::vector<uint64_t>& v, uint64_t index) {
  return index < v.size() ? v[index] : 0;
}

}  // namespace

uint64_t EntryHash(const raftpb::Entry& e) {
  uint64_t h = Mix(e.term(), static_cast<uint64_t>(e.type()) + 1);
  for (char c : e.data()) h = Mix(h, static_cast<unsigned char>(c));
  return Mix(h, e.data().size());
}

uint64_t ChainNext(uint64_t chain, const raftpb::Entry& entry) {
  uint64_t h = Mix(Mix(chain, entry.index()), EntryHash(entry));
  return h == 0 ? 1 : h;  // 0 means "unknown" in the checker's tables
}

std::string EncodeState(uint64_t applied, uint64_t chain) {
  std::string s(16, '\0');
  std::memcpy(s.data(), &applied, 8);
  std::memcpy(s.data() + 8, &chain, 8);
  return s;
}

uint64_t DecodeChain(const std::string& data) {
  uint64_t chain = 0;
  if (data.size() == 16) std::memcpy(&chain, data.data() + 8, 8);
  return chain;
}

void Checker::Fail(const std::string& invariant, const std::string& detail) {
  if (!violation_) violation_ = Violation{invariant, detail};
}

void Checker::Bootstrap(uint64_t index, uint64_t term, uint64_t chain) {
  Put(&committed_terms_, index, term);
  Put(&chains_, index, chain);
  committed_max_ = index;
}

void Checker::OnAppend(uint64_t node, const std::vector<raftpb::Entry>& entries,
                       const raft::MemoryStorage& storage) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const raftpb::Entry& e = entries[i];
    uint64_t prev_term = 0;
    if (i > 0) {
      prev_term = entries[i - 1].term();
    } else {
      base::Result<uint64_t> t = storage.Term(e.index() - 1);
      if (!t.ok()) {
        // Entries wholly below the snapshot are skipped by the storage; a gap is a bug.
        if (raft::IsCompacted(t.status())) continue;
        Fail("log-matching", "node " + Str(node) + " appends index " + Str(e.index()) +
                                 " after a gap (last " + Str(storage.LastIndex()) + ")");
        return;
      }
      prev_term = *t;
    }
    const LogRecord record{EntryHash(e), prev_term};
    auto [it, inserted] = log_.emplace(std::make_pair(e.index(), e.term()), record);
    if (!inserted && (it->second.hash != record.hash || it->second.prev_term != prev_term)) {
      Fail("log-matching", "node " + Str(node) + " holds a different entry at index " +
                               Str(e.index()) + " term " + Str(e.term()));
      return;
    }
  }
}

void Checker::CheckCommitted(uint64_t node, uint64_t index, uint64_t term) {
  const uint64_t known = Get(committed_terms_, index);
  if (known == 0) {
    Put(&committed_terms_, index, term);
  } else if (known != term) {
    Fail("committed-durable", "node " + Str(node) + " has term " + Str(term) +
                                  " at committed index " + Str(index) + " where term " +
                                  Str(known) + " was committed");
  }
}

void Checker::OnCommit(uint64_t node, uint64_t commit, const raft::MemoryStorage& storage) {
  uint64_t& checked = checked_commit_[node];
  for (uint64_t i = std::max(checked + 1, storage.FirstIndex()); i <= commit; ++i) {
    base::Result<uint64_t> t = storage.Term(i);
    if (!t.ok()) {
      Fail("committed-durable", "node " + Str(node) + " committed index " + Str(i) +
                                    " beyond its durable log (last " + Str(storage.LastIndex()) +
                                    ")");
      return;
    }
    CheckCommitted(node, i, *t);
  }
  checked = std::max(checked, commit);
  committed_max_ = std::max(committed_max_, commit);
}

void Checker::OnLeader(uint64_t node, uint64_t term, const raft::MemoryStorage& storage) {
  auto [it, inserted] = leaders_.emplace(term, node);
  if (!inserted && it->second != node) {
    Fail("one-leader-per-term",
         "nodes " + Str(it->second) + " and " + Str(node) + " both lead term " + Str(term));
    return;
  }
  if (!leaders_checked_.insert({node, term}).second) return;
  if (storage.LastIndex() < committed_max_) {
    Fail("leader-completeness", "leader " + Str(node) + " of term " + Str(term) +
                                    " ends at index " + Str(storage.LastIndex()) + " but " +
                                    Str(committed_max_) + " is committed");
    return;
  }
  for (uint64_t i = storage.FirstIndex(); i <= committed_max_; ++i) {
    const uint64_t known = Get(committed_terms_, i);
    if (known != 0 && *storage.Term(i) != known) {
      Fail("leader-completeness", "leader " + Str(node) + " of term " + Str(term) + " has term " +
                                      Str(*storage.Term(i)) + " at index " + Str(i) +
                                      " where term " + Str(known) + " is committed");
      return;
    }
  }
}

void Checker::OnApply(uint64_t node, uint64_t index, uint64_t chain) {
  const uint64_t known = Get(chains_, index);
  if (known == 0) {
    Put(&chains_, index, chain);
  } else if (known != chain) {
    Fail("applied-prefix",
         "node " + Str(node) + " applied a different sequence up to index " + Str(index));
  }
}

void Checker::OnSnapshot(uint64_t node, const raftpb::SnapshotMetadata& meta, uint64_t chain) {
  OnApply(node, meta.index(), chain);
  CheckCommitted(node, meta.index(), meta.term());
  committed_max_ = std::max(committed_max_, meta.index());
  uint64_t& checked = checked_commit_[node];
  checked = std::max(checked, meta.index());
}

void Checker::OnReadState(uint64_t node, uint64_t index, const std::string& context) {
  auto it = read_floor_.find(context);
  if (it == read_floor_.end()) return;  // answered twice (duplicated messages)
  if (index < it->second) {
    Fail("linearizable-read", "node " + Str(node) + " read " + context + " at index " + Str(index) +
                                  " but " + Str(it->second) + " was committed before it was asked");
  }
  read_floor_.erase(it);
}

}  // namespace etcpp::raftsim
