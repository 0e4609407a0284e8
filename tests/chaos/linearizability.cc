#include "tests/chaos/linearizability.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "tests/chaos/search.h"

namespace etcpp::chaos {

namespace {

// Operations that can constrain the model: failed ones never took effect, and a read
// whose answer never came says nothing.
bool Relevant(const Operation& op) {
  if (op.outcome == Outcome::kFailed) return false;
  bool read = op.kind == OpKind::kGet || op.kind == OpKind::kRangeCount;
  return !(read && op.outcome == Outcome::kUnknown);
}

struct Partition {
  std::vector<std::string> keys;
  std::vector<const Operation*> ops;  // in invocation order
};

int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Keys a range count spans are joined into one partition; every other key stands alone.
std::vector<Partition> PartitionByKey(const History& history) {
  std::vector<std::string> keys;
  for (const auto& op : history)
    if (Relevant(op) && op.kind != OpKind::kRangeCount) keys.push_back(op.key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<int> parent(keys.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto index = [&](const std::string& key) {
    return static_cast<int>(std::lower_bound(keys.begin(), keys.end(), key) - keys.begin());
  };
  // Each operation's partition root, or -1 for a count that spans no key (it sits alone).
  std::vector<std::pair<const Operation*, int>> placed;
  for (const auto& op : history) {
    if (!Relevant(op)) continue;
    if (op.kind != OpKind::kRangeCount) {
      placed.push_back({&op, index(op.key)});
      continue;
    }
    int first = -1;
    for (int i = index(op.key); i < static_cast<int>(keys.size()) && RangeCovers(op, keys[i]); ++i) {
      if (first < 0) first = i;
      parent[Find(parent, i)] = Find(parent, first);
    }
    placed.push_back({&op, first});
  }
  std::map<int, Partition> by_root;
  std::vector<Partition> lonely;
  for (auto [op, key] : placed) {
    if (key < 0) {
      lonely.push_back({{}, {op}});
      continue;
    }
    by_root[Find(parent, key)].ops.push_back(op);
  }
  for (int i = 0; i < static_cast<int>(keys.size()); ++i) by_root[Find(parent, i)].keys.push_back(keys[i]);
  std::vector<Partition> out = std::move(lonely);
  for (auto& [root, partition] : by_root) out.push_back(std::move(partition));
  for (auto& p : out) {
    std::stable_sort(p.ops.begin(), p.ops.end(), [](const Operation* a, const Operation* b) {
      return a->invoke_ns < b->invoke_ns;
    });
  }
  return out;
}

bool Writes(const Operation& op) {
  return op.kind == OpKind::kPut || op.kind == OpKind::kDelete || op.kind == OpKind::kCas;
}

bool WritesValue(const Operation& op, const std::string& value) {
  return (op.kind == OpKind::kPut || op.kind == OpKind::kCas) && op.value == value;
}

// Whether `b`'s answer may have observed the write `a`. Dropping `a` while `b` stays
// could make `b` fail for another reason than the anomaly found (a read of a value
// nobody wrote), and the report would mislead.
bool Justifies(const Operation& a, const Operation& b) {
  if (&a == &b || !Writes(a)) return false;
  // b cannot have seen a write invoked after b's answer came back.
  if (b.outcome == Outcome::kOk && a.invoke_ns > b.complete_ns) return false;
  if (b.kind == OpKind::kRangeCount) return RangeCovers(b, a.key);
  if (a.key != b.key) return false;
  switch (b.kind) {
    case OpKind::kGet:
      return b.found ? WritesValue(a, b.result_value) : a.kind == OpKind::kDelete;
    case OpKind::kDelete:
      // Deleting a key observes whether it existed.
      return b.outcome == Outcome::kOk && (b.deleted > 0) != (a.kind == OpKind::kDelete);
    case OpKind::kCas:
      if (b.outcome != Outcome::kOk) return false;  // its answer observed nothing
      if (!b.succeeded) return true;  // any write can explain it
      if (b.compare_target == CompareTarget::kValue) return WritesValue(a, b.compare_value);
      if (b.compare_mod_revision == 0) return a.kind == OpKind::kDelete;
      return a.kind != OpKind::kDelete && a.revision == b.compare_mod_revision;
    case OpKind::kPut:
    case OpKind::kRangeCount:
      return false;
  }
  return false;
}

// Shrinks a failing partition by relaxing it: a read is dropped, a write is made of
// unknown outcome (it may have happened at any time after its call, or never). Both
// only remove constraints, so whatever still fails shows an anomaly of the original
// history. A write of unknown outcome is dropped outright once no remaining answer may
// have observed it (see Justifies); dropping it earlier could invent an anomaly.
class Minimizer {
 public:
  Minimizer(const Partition& partition, const CheckOptions& options)
      : partition_(partition), options_(options) {
    for (const Operation* op : partition.ops) {
      Operation relaxed = *op;
      relaxed.outcome = Outcome::kUnknown;
      relaxed_.push_back(relaxed);
      fate_.push_back(op->outcome == Outcome::kUnknown ? Fate::kRelax : Fate::kKeep);
    }
  }

  // The smallest failing sub-history found, in invocation order: the shortest failing
  // prefix, then chunks of halving size relaxed while the rest still fails (ddmin), then
  // single operations until none can go.
  History Run() {
    size_t n = fate_.size();
    size_t lo = 0, hi = n;  // prefix hi fails; prefixes need not fail monotonically
    while (lo + 1 < hi) {
      size_t mid = (lo + hi) / 2;
      if (TryRemove(mid, n - mid)) hi = mid;
      else lo = mid;
    }
    for (size_t chunk = n / 2; chunk > 1; chunk /= 2)
      for (size_t start = 0; start < hi; start += chunk) TryRemove(start, chunk);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = hi; i-- > 0;) changed = (fate_[i] != Fate::kDrop && TryRemove(i, 1)) || changed;
    }
    History out;
    for (size_t i = 0; i < n; ++i)
      if (fate_[i] != Fate::kDrop) out.push_back(fate_[i] == Fate::kKeep ? *partition_.ops[i] : relaxed_[i]);
    return out;
  }

 private:
  enum class Fate { kKeep, kRelax, kDrop };

  // Relaxes operations [start, start + count); keeps the result if it still fails.
  bool TryRemove(size_t start, size_t count) {
    if (attempts_ >= options_.minimize_attempts_max) return false;
    std::vector<Fate> tentative = fate_;
    for (size_t i = start; i < std::min(start + count, fate_.size()); ++i) {
      if (tentative[i] == Fate::kKeep) tentative[i] = Writes(*partition_.ops[i]) ? Fate::kRelax : Fate::kDrop;
    }
    DropUnobserved(tentative);
    if (tentative == fate_ || !Fails(tentative)) return false;
    fate_ = std::move(tentative);
    return true;
  }

  void DropUnobserved(std::vector<Fate>& fate) const {
    for (size_t a = 0; a < fate.size(); ++a) {
      if (fate[a] != Fate::kRelax) continue;
      bool observed = false;
      for (size_t b = 0; b < fate.size() && !observed; ++b)
        observed = fate[b] == Fate::kKeep && Justifies(*partition_.ops[a], *partition_.ops[b]);
      if (!observed) fate[a] = Fate::kDrop;
    }
  }

  bool Fails(const std::vector<Fate>& fate) {
    ++attempts_;
    std::vector<const Operation*> ops;
    for (size_t i = 0; i < fate.size(); ++i) {
      if (fate[i] != Fate::kDrop) ops.push_back(fate[i] == Fate::kKeep ? partition_.ops[i] : &relaxed_[i]);
    }
    return SearchPartition(ops, partition_.keys, options_.minimize_steps_max).verdict ==
           SearchVerdict::kNotLinearizable;
  }

  const Partition& partition_;
  const CheckOptions& options_;
  std::vector<Operation> relaxed_;  // each operation with an unknown outcome
  std::vector<Fate> fate_;
  int attempts_ = 0;
};

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "NOT linearizable";
    case Verdict::kUnknown:
      return "unknown (search budget exhausted)";
  }
  return "?";
}

CheckResult CheckLinearizable(const History& history, const CheckOptions& options) {
  CheckResult result;
  std::vector<Partition> partitions = PartitionByKey(history);
  result.partitions = static_cast<int>(partitions.size());
  for (const auto& partition : partitions) {
    SearchResult search = SearchPartition(partition.ops, partition.keys, options.steps_max);
    result.steps += search.steps;
    if (search.verdict == SearchVerdict::kGaveUp) result.verdict = Verdict::kUnknown;
    if (search.verdict != SearchVerdict::kNotLinearizable) continue;
    result.verdict = Verdict::kNotLinearizable;
    result.keys = partition.keys;
    result.sub_history = Minimizer(partition, options).Run();
    return result;
  }
  return result;
}

std::string CheckResult::Explain() const {
  std::string out = std::string(VerdictName(verdict)) + ": " + std::to_string(partitions) +
                    " partitions, " + std::to_string(steps) + " search steps\n";
  if (verdict != Verdict::kNotLinearizable) return out;
  out += "keys:";
  for (const auto& key : keys) out += " " + key;
  out += "\nsmallest failing sub-history (" + std::to_string(sub_history.size()) + " operations):\n";
  out += Format(sub_history);
  return out;
}

}  // namespace etcpp::chaos
