#include "tests/chaos/search.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "base/assert.h"

namespace etcpp::chaos {

namespace {

// One key of the model: absent (value -1, mod_revision 0), or a value id and the
// revision that wrote it (-1 when the write's outcome was unknown and nobody read it).
struct KeyState {
  int32_t value = -1;
  int64_t mod_revision = 0;
  bool operator==(const KeyState&) const = default;
};
using State = std::vector<KeyState>;

// An operation with keys and values turned into small integers.
struct Compiled {
  const Operation* op = nullptr;
  int key = 0;      // local key index; kRangeCount: the first key covered
  int key_end = 0;  // kRangeCount: one past the last key covered
  int32_t value = -1;
  int32_t compare_value = -1;
  int32_t result_value = -1;
  int64_t unknown_revision = -1;  // an unknown write's revision, when a read saw its value
  bool unknown = false;
  int index = 0;  // among the finite or among the unknown operations
};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A bitset that keeps a Zobrist hash of its members up to date.
struct Bits {
  std::vector<uint64_t> words;
  uint64_t hash = 0;
  explicit Bits(int size) : words((size + 63) / 64, 0) {}
  void Flip(int i) {
    words[i / 64] ^= 1ULL << (i % 64);
    hash ^= SplitMix(static_cast<uint64_t>(i));
  }
};

// The set of placed operations that returned, as the memo stores it. Operations are
// numbered in call order and placed nearly in that order, so the set is a run of
// full words, a few words of stragglers, then nothing: only the stragglers are kept.
// (Whole bitsets would cost O(n) bytes per entry: gigabytes for one long history.)
class CompletedSet {
 public:
  explicit CompletedSet(int size) : bits_(size) {}
  void Flip(int i) {
    bits_.Flip(i);
    int w = i / 64;
    if (bits_.words[w] & (1ULL << (i % 64))) high_ = std::max(high_, w);
    else low_ = std::min(low_, w);
    while (low_ < static_cast<int>(bits_.words.size()) && bits_.words[low_] == ~0ULL) ++low_;
  }
  uint64_t hash() const { return bits_.hash; }
  struct Key {
    int full_words = 0;  // words [0, full_words) are all ones
    std::vector<uint64_t> rest;
    bool operator==(const Key&) const = default;
  };
  Key key() const {
    int end = high_ + 1;
    while (end > low_ && bits_.words[end - 1] == 0) --end;
    Key k{low_, {}};
    if (end > low_) k.rest.assign(bits_.words.begin() + low_, bits_.words.begin() + end);
    return k;
  }

 private:
  Bits bits_;
  int low_ = 0;    // no word below is missing a bit
  int high_ = -1;  // no word above has a bit
};

// The memo: for each (completed set, state) the sets of unknown operations already
// explored with it. A new configuration is pruned when one of them is a subset of its
// own (see linearizability.h for why that is sound).
class Memo {
 public:
  bool Explored(const CompletedSet& finite, const State& state, const Bits& unknown) {
    uint64_t h = finite.hash();
    for (const auto& k : state)
      h = SplitMix(h ^ (static_cast<uint64_t>(k.value) << 32) ^ static_cast<uint64_t>(k.mod_revision));
    auto& bucket = table_[h];
    CompletedSet::Key key = finite.key();
    for (auto& entry : bucket) {
      if (entry.finite != key || entry.state != state) continue;
      for (const auto& seen : entry.unknowns)
        if (SubsetWords(seen, unknown.words)) return true;
      entry.unknowns.push_back(unknown.words);
      return false;
    }
    bucket.push_back({std::move(key), state, {unknown.words}});
    return false;
  }

 private:
  static bool SubsetWords(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    for (size_t w = 0; w < a.size(); ++w)
      if (a[w] & ~b[w]) return false;
    return true;
  }
  struct Entry {
    CompletedSet::Key finite;
    State state;
    std::vector<std::vector<uint64_t>> unknowns;
  };
  std::unordered_map<uint64_t, std::vector<Entry>> table_;
};

bool Compare(const Compiled& c, const KeyState& k) {
  const Operation& op = *c.op;
  if (op.compare_target == CompareTarget::kValue) {
    // etcd fails a value compare on a missing key: there is no value to compare.
    return k.value >= 0 && k.value == c.compare_value;
  }
  return k.mod_revision == op.compare_mod_revision;
}

KeyState Written(const Compiled& c) {
  return {c.value, c.unknown ? c.unknown_revision : c.op->revision};
}

// Revisions only grow: a write given a revision not above the key's current one cannot
// follow it. (A write of unknown outcome has a revision only when a read revealed it.)
bool RevisionGrows(const Compiled& c, const KeyState& k) {
  int64_t revision = c.unknown ? c.unknown_revision : c.op->revision;
  return revision < 0 || revision > k.mod_revision;
}

// Applies `c` to `state`. Returns false when the model cannot give the recorded answer.
bool Step(const Compiled& c, State& state) {
  const Operation& op = *c.op;
  if (op.kind == OpKind::kRangeCount) {
    int64_t count = 0;
    for (int i = c.key; i < c.key_end; ++i) count += state[i].value >= 0 ? 1 : 0;
    return count == op.count;
  }
  KeyState& k = state[c.key];
  switch (op.kind) {
    case OpKind::kGet:
      if (!op.found) return k.value < 0;
      return k.value == c.result_value && (k.mod_revision < 0 || k.mod_revision == op.mod_revision);
    case OpKind::kPut:
      if (!RevisionGrows(c, k)) return false;
      k = Written(c);
      return true;
    case OpKind::kDelete:
      if (!c.unknown && op.deleted != (k.value >= 0 ? 1 : 0)) return false;
      k = KeyState{};
      return true;
    case OpKind::kCas: {
      bool holds = Compare(c, k);
      if (!c.unknown && op.succeeded != holds) return false;
      if (holds) {
        if (!RevisionGrows(c, k)) return false;
        k = Written(c);
      }
      return true;
    }
    case OpKind::kRangeCount:
      break;  // handled above: it reads no single key
  }
  return false;
}

// The time-ordered list of call and return events that Lowe's algorithm walks, with
// links so a linearized operation can be lifted out and put back in O(1).
struct Event {
  int op = -1;          // -1 for the head sentinel
  bool is_call = false;
  int match = -1;       // a call's return event, -1 for an unknown outcome
  int prev = -1, next = -1;
};

class EventList {
 public:
  explicit EventList(const std::vector<Compiled>& ops) {
    struct Timed { int64_t time; int order; int op; bool is_call; };
    std::vector<Timed> timed;
    for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
      // Calls sort before returns at the same instant: such operations count as
      // concurrent, the permissive reading of a clock tie.
      timed.push_back({ops[i].op->invoke_ns, 0, i, true});
      if (!ops[i].unknown) timed.push_back({ops[i].op->complete_ns, 1, i, false});
    }
    std::sort(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) {
      return a.time != b.time ? a.time < b.time : a.order < b.order;
    });
    events.resize(timed.size() + 1);
    std::vector<int> call_of(ops.size(), -1);
    for (size_t i = 0; i < timed.size(); ++i) {
      int e = static_cast<int>(i) + 1;
      events[e].op = timed[i].op;
      events[e].is_call = timed[i].is_call;
      if (timed[i].is_call) call_of[timed[i].op] = e;
      else events[call_of[timed[i].op]].match = e;
    }
    for (int e = 0; e < static_cast<int>(events.size()); ++e) {
      events[e].prev = e - 1;
      events[e].next = e + 1 < static_cast<int>(events.size()) ? e + 1 : -1;
    }
  }
  void Lift(int call) {
    Unlink(call);
    if (events[call].match >= 0) Unlink(events[call].match);
  }
  // Undoes Lift(call); lifts are undone in reverse order, so the links still hold.
  void Unlift(int call) {
    if (events[call].match >= 0) Relink(events[call].match);
    Relink(call);
  }
  std::vector<Event> events;  // events[0] is the head sentinel

 private:
  void Unlink(int e) {
    events[events[e].prev].next = events[e].next;
    if (events[e].next >= 0) events[events[e].next].prev = events[e].prev;
  }
  void Relink(int e) {
    events[events[e].prev].next = e;
    if (events[e].next >= 0) events[events[e].next].prev = e;
  }
};

std::vector<Compiled> CompileOps(const std::vector<const Operation*>& ops,
                                 const std::vector<std::string>& keys) {
  std::map<std::string, int32_t> value_ids;
  auto id = [&](const std::string& v) {
    return value_ids.emplace(v, static_cast<int32_t>(value_ids.size())).first->second;
  };
  std::map<int32_t, int64_t> read_revision;  // value id -> mod_revision a read saw
  std::vector<Compiled> out;
  int finite = 0, unknown = 0;
  for (const Operation* op : ops) {
    Compiled c;
    c.op = op;
    c.unknown = op->outcome == Outcome::kUnknown;
    c.index = c.unknown ? unknown++ : finite++;
    if (op->kind == OpKind::kRangeCount) {
      c.key = static_cast<int>(keys.size());
      c.key_end = 0;
      for (int i = 0; i < static_cast<int>(keys.size()); ++i) {
        if (!RangeCovers(*op, keys[i])) continue;
        c.key = std::min(c.key, i);
        c.key_end = i + 1;
      }
      if (c.key_end == 0) c.key = 0;
    } else {
      c.key = static_cast<int>(std::lower_bound(keys.begin(), keys.end(), op->key) - keys.begin());
      ETCPP_ASSERT(c.key < static_cast<int>(keys.size()) && keys[c.key] == op->key);
    }
    c.value = id(op->value);
    c.compare_value = id(op->compare_value);
    if (op->kind == OpKind::kGet && op->found) {
      c.result_value = id(op->result_value);
      read_revision.emplace(c.result_value, op->mod_revision);
    }
    out.push_back(c);
  }
  for (auto& c : out) {
    auto it = read_revision.find(c.value);
    if (!c.unknown) continue;
    // An acknowledged write relaxed by the minimizer keeps the revision it was given.
    if (c.op->revision > 0) c.unknown_revision = c.op->revision;
    else if (it != read_revision.end()) c.unknown_revision = it->second;
  }
  return out;
}

struct Frame {
  int call;
  State state;
  bool unknown_pass;
};

bool BlindWrite(const Compiled& c) {
  return c.op->kind == OpKind::kPut || c.op->kind == OpKind::kDelete;
}

// An unknown put or delete right after another unknown write of the same key gives the
// state the blind write alone gives, with one more unknown operation used up: dominated
// by placing the blind write without its predecessor, which the search also tries.
// Without this, n unknown writes of one key are tried in all 2^n combinations.
bool Dominated(const Compiled& c, const std::vector<Frame>& stack, const std::vector<Compiled>& compiled,
               const std::vector<Event>& events) {
  if (!c.unknown || !BlindWrite(c) || stack.empty()) return false;
  const Compiled& last = compiled[events[stack.back().call].op];
  return last.unknown && last.op->kind != OpKind::kRangeCount && last.key == c.key;
}

}  // namespace

bool RangeCovers(const Operation& op, const std::string& key) {
  if (op.range_end.empty()) return key == op.key;
  if (op.range_end == std::string(1, '\0')) return key >= op.key;
  return key >= op.key && key < op.range_end;
}

SearchResult SearchPartition(const std::vector<const Operation*>& ops,
                             const std::vector<std::string>& keys, int64_t steps_max) {
  std::vector<Compiled> compiled = CompileOps(ops, keys);
  int finite_total = static_cast<int>(
      std::count_if(compiled.begin(), compiled.end(), [](const Compiled& c) { return !c.unknown; }));
  int unknown_total = static_cast<int>(compiled.size()) - finite_total;
  CompletedSet finite(finite_total);
  Bits unknown(unknown_total);
  EventList list(compiled);
  auto& events = list.events;
  Memo memo;
  State state(keys.size());
  std::vector<Frame> stack;
  int finite_left = finite_total;
  SearchResult result;
  int e = events[0].next;
  // Each position is scanned twice: first for calls that returned, then for calls of
  // unknown outcome. Trying not to place unknown operations first means the memo meets
  // the configurations with fewer of them placed first, which then prune the others.
  bool unknown_pass = false;
  while (finite_left > 0) {
    if (++result.steps > steps_max) {
      result.verdict = SearchVerdict::kGaveUp;
      return result;
    }
    ETCPP_ASSERT(e >= 0);  // a pending finite operation's return lies ahead
    if (events[e].is_call) {
      const Compiled& c = compiled[events[e].op];
      if (c.unknown != unknown_pass) {
        e = events[e].next;
        continue;
      }
      State next = state;
      auto flip = [&] { c.unknown ? unknown.Flip(c.index) : finite.Flip(c.index); };
      if (!Dominated(c, stack, compiled, events) && Step(c, next)) {
        flip();
        if (!memo.Explored(finite, next, unknown)) {
          stack.push_back({e, std::move(state), unknown_pass});
          state = std::move(next);
          list.Lift(e);
          if (!c.unknown) --finite_left;
          e = events[0].next;
          unknown_pass = false;
          continue;
        }
        flip();
      }
      e = events[e].next;
      continue;
    }
    if (!unknown_pass && unknown_total > 0) {
      unknown_pass = true;
      e = events[0].next;
      continue;
    }
    // A return whose call could not be placed: undo the last choice.
    if (stack.empty()) {
      result.verdict = SearchVerdict::kNotLinearizable;
      return result;
    }
    Frame top = std::move(stack.back());
    stack.pop_back();
    const Compiled& c = compiled[events[top.call].op];
    if (c.unknown) unknown.Flip(c.index);
    else finite.Flip(c.index);
    finite_left += c.unknown ? 0 : 1;
    state = std::move(top.state);
    list.Unlift(top.call);
    e = events[top.call].next;
    unknown_pass = top.unknown_pass;
  }
  return result;
}

}  // namespace etcpp::chaos
