#include "tests/chaos/history_generator.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <random>

namespace etcpp::chaos {

namespace {

std::string KeyName(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%05d", i);
  return buf;
}

struct Stored {
  std::string value;
  int64_t mod_revision = 0;
  bool revision_known = true;  // false when an unknown-outcome write made it
};

// The reference store, plus what a planted stale read needs: the key's state before
// its latest write and when that write completed.
struct Store {
  std::map<std::string, Stored> kvs;
  std::map<std::string, std::pair<std::optional<Stored>, int64_t>> before_latest_write;
  int64_t revision = 1;

  // A write of unknown outcome never completes, so no read can be stale against it.
  void Remember(const Operation& write) {
    auto it = kvs.find(write.key);
    int64_t complete_ns = write.outcome == Outcome::kUnknown ? std::numeric_limits<int64_t>::max()
                                                             : write.complete_ns;
    before_latest_write[write.key] = {it == kvs.end() ? std::nullopt : std::optional(it->second),
                                      complete_ns};
  }
};

// Fills in op's answer (and the store) at its linearization point.
void Apply(Operation& op, Store& store, std::mt19937_64& random, bool take_effect) {
  auto it = store.kvs.find(op.key);
  bool exists = it != store.kvs.end();
  switch (op.kind) {
    case OpKind::kGet:
      op.found = exists;
      if (exists) {
        op.result_value = it->second.value;
        op.mod_revision = it->second.mod_revision;
      }
      return;
    case OpKind::kRangeCount:
      for (auto k = store.kvs.lower_bound(op.key); k != store.kvs.end() && k->first < op.range_end; ++k)
        ++op.count;
      return;
    case OpKind::kPut:
      break;
    case OpKind::kDelete:
      op.deleted = exists ? 1 : 0;
      if (!take_effect || !exists) return;
      store.Remember(op);
      store.kvs.erase(it);
      ++store.revision;
      return;
    case OpKind::kCas:
      // Half the time the client compares against what is there, so some succeed.
      bool current = random() % 2 == 0 && exists;
      // A real client learns a mod_revision from an answer, which an unknown-outcome
      // write never gave: compare on its value instead.
      op.compare_target = random() % 2 || (exists && !it->second.revision_known)
                              ? CompareTarget::kValue
                              : CompareTarget::kModRevision;
      op.compare_value = current ? it->second.value : "stale";
      op.compare_mod_revision = current ? it->second.mod_revision : static_cast<int64_t>(random() % 3);
      op.succeeded = op.compare_target == CompareTarget::kValue
                         ? exists && op.compare_value == it->second.value
                         : op.compare_mod_revision == (exists ? it->second.mod_revision : 0);
      if (!op.succeeded) return;
      break;
  }
  if (!take_effect) return;
  store.Remember(op);
  op.revision = ++store.revision;
  store.kvs[op.key] = {op.value, op.revision, op.outcome != Outcome::kUnknown};
}

void MakeStale(Operation& op, const Store& store) {
  auto it = store.before_latest_write.find(op.key);
  // Only a value can be stale for sure: "not found" might be a concurrent delete's doing.
  if (it == store.before_latest_write.end() || it->second.second >= op.invoke_ns ||
      !it->second.first) {
    return;
  }
  op.found = true;
  op.result_value = it->second.first->value;
  op.mod_revision = it->second.first->mod_revision;
}

}  // namespace

History GenerateHistory(const GeneratorOptions& options) {
  std::mt19937_64 random(options.seed);
  History history;
  std::vector<int64_t> linearized_at;
  std::vector<int64_t> client_free(options.clients, 0);
  for (int i = 0; i < options.operations; ++i) {
    Operation op;
    op.client = static_cast<int>(random() % options.clients);
    op.invoke_ns = client_free[op.client] + static_cast<int64_t>(random() % 1000);
    int64_t point = op.invoke_ns + static_cast<int64_t>(random() % options.latency_ns_max);
    op.complete_ns = point + static_cast<int64_t>(random() % options.latency_ns_max) + 1;
    client_free[op.client] = op.complete_ns;
    int key = static_cast<int>(random() % options.keys);
    op.key = KeyName(key);
    int kind = static_cast<int>(random() % 10);
    op.kind = kind < 4 ? OpKind::kGet : kind < 7 ? OpKind::kPut : kind < 8 ? OpKind::kDelete
              : kind < 9 ? OpKind::kCas : OpKind::kRangeCount;
    if (op.kind == OpKind::kRangeCount) {
      int first = key - key % options.keys_per_range_count;
      op.key = KeyName(first);
      op.range_end = KeyName(first + options.keys_per_range_count);
    }
    op.value = "v" + std::to_string(i);
    history.push_back(op);
    linearized_at.push_back(point);
  }
  std::vector<size_t> order(history.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return linearized_at[a] < linearized_at[b]; });
  Store store;
  int stale_left = options.stale_reads;
  for (size_t i : order) {
    Operation& op = history[i];
    bool write = op.kind == OpKind::kPut || op.kind == OpKind::kDelete || op.kind == OpKind::kCas;
    bool unknown = write && std::uniform_real_distribution<>(0, 1)(random) < options.unknown_fraction;
    if (unknown) op.outcome = Outcome::kUnknown;
    Apply(op, store, random, !unknown || random() % 2 == 0);
    if (op.kind == OpKind::kGet && stale_left > 0 && random() % 20 == 0) {
      Operation before = op;
      MakeStale(op, store);
      bool changed = op.found != before.found || op.result_value != before.result_value;
      stale_left -= changed ? 1 : 0;
    }
  }
  return history;
}

}  // namespace etcpp::chaos
