// Model-based test: thousands of seeded random sequences of puts, deletes, ranges over
// random key ranges and revisions, txns (nested too), compactions, hashes, commits and
// close/reopen, run against the real Store (real LMDB files) and against the
// Reference of model_reference.h. Every response, error text, event, the revision and
// the compacted revision must agree after every step; after every step a full read at
// the current and at a random older revision is compared as well.
//
// A failure prints the sequence seed and step; rerun one sequence with
// ETCPP_MODEL_SEED=<seed>. ETCPP_MODEL_SEQUENCES overrides the number of sequences;
// ETCPP_MODEL_DEBUG=1 prints each step's operation code (see Step) to stderr.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "storage/mvcc/model_reference.h"
#include "storage/mvcc/test_util.h"

namespace etcpp::mvcc {
namespace {

using testing::Reference;

// --- describing responses, so that a mismatch prints both sides ---
std::string Describe(const mvccpb::KeyValue& kv) { return "{" + kv.ShortDebugString() + "}"; }
std::string Describe(const RangeResponse& r) {
  std::string s = "range rev=" + std::to_string(r.revision) + " count=" + std::to_string(r.count) +
                  " more=" + std::to_string(r.more) + " kvs=";
  for (const auto& kv : r.kvs) s += Describe(kv);
  return s;
}
std::string Describe(const PutResponse& r) {
  return "put rev=" + std::to_string(r.revision) + " prev=" + (r.prev_kv ? Describe(*r.prev_kv) : "none");
}
std::string Describe(const DeleteRangeResponse& r) {
  std::string s = "delete rev=" + std::to_string(r.revision) + " deleted=" + std::to_string(r.deleted) + " prev=";
  for (const auto& kv : r.prev_kvs) s += Describe(kv);
  return s;
}
std::string Describe(const TxnResponse& r) {
  std::string s = "txn rev=" + std::to_string(r.revision) + " ok=" + std::to_string(r.succeeded) + " [";
  for (const auto& op : r.responses) s += std::visit([](const auto& x) { return Describe(x); }, op.response) + "; ";
  return s + "]";
}
std::string Describe(const HashKVResponse& r) {
  return "hash=" + std::to_string(r.hash) + " rev=" + std::to_string(r.revision) +
         " compact=" + std::to_string(r.compact_revision) + " at=" + std::to_string(r.hash_revision);
}
template <typename T>
std::string Describe(const base::Result<T>& r) {
  return r.ok() ? Describe(*r) : "error: " + r.status().message();
}
std::string Describe(const std::vector<mvccpb::Event>& events) {
  std::string s;
  for (const auto& e : events) s += "{" + e.ShortDebugString() + "}";
  return s;
}

// --- random requests over a small key space, so that ranges and histories overlap ---
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Pick(100) < percent; }
  int64_t Between(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }

  std::string Key() {
    static const char* kKeys[] = {"a", "ab", "abc", "b", "ba", "c", "d", "e"};
    return kKeys[Pick(8)];
  }
  std::string Value() {
    static const char* kValues[] = {"", "v1", "v2", "x", "zz"};
    return kValues[Pick(5)];
  }
  std::string RangeEnd() {
    switch (Pick(4)) {
      case 0: return "";
      case 1: return std::string(1, '\0');
      case 2: return "z";
      default: return Key();
    }
  }

  RangeRequest Range(const Reference& ref) {
    RangeRequest r;
    r.key = Chance(10) ? "" : Key();
    r.range_end = RangeEnd();
    r.revision = Chance(50) ? 0 : Between(-1, ref.current + 1);
    r.limit = Chance(50) ? 0 : Between(-1, 4);
    if (Chance(40)) {
      r.sort_order = static_cast<SortOrder>(Pick(3));
      r.sort_target = static_cast<SortTarget>(Pick(5));
    }
    r.keys_only = Chance(15);
    r.count_only = Chance(10);
    if (Chance(15)) r.min_mod_revision = Between(0, ref.current);
    if (Chance(15)) r.max_mod_revision = Between(0, ref.current);
    if (Chance(15)) r.min_create_revision = Between(0, ref.current);
    if (Chance(15)) r.max_create_revision = Between(0, ref.current);
    return r;
  }
  PutRequest Put() {
    PutRequest p;
    p.key = Key();
    p.value = Value();
    p.lease = Chance(30) ? Between(1, 3) : 0;
    p.prev_kv = Chance(40);
    p.ignore_value = Chance(10);
    p.ignore_lease = Chance(10);
    return p;
  }
  DeleteRangeRequest Delete() {
    DeleteRangeRequest d;
    d.key = Key();
    d.range_end = Chance(60) ? "" : RangeEnd();
    d.prev_kv = Chance(50);
    return d;
  }
  Compare Cmp(const Reference& ref) {
    Compare c;
    c.target = static_cast<Compare::Target>(Pick(5));
    c.result = static_cast<Compare::Result>(Pick(4));
    c.key = Key();
    c.range_end = Chance(70) ? "" : RangeEnd();
    c.number = Between(0, ref.current + 1);
    if (c.target == Compare::Target::kLease) c.number = Between(0, 3);
    c.value = Value();
    return c;
  }
  TxnRequest Txn(const Reference& ref, int depth) {
    TxnRequest t;
    for (int i = Pick(3); i > 0; --i) t.compare.push_back(Cmp(ref));
    for (auto* ops : {&t.success, &t.failure}) {
      for (int i = Pick(4); i > 0; --i) {
        int kind = Pick(depth < 2 ? 10 : 9);
        if (kind < 3) ops->push_back(RequestOp{Range(ref)});
        else if (kind < 6) ops->push_back(RequestOp{Put()});
        else if (kind < 9) ops->push_back(RequestOp{Delete()});
        else ops->push_back(RequestOp{Txn(ref, depth + 1)});
      }
    }
    return t;
  }

 private:
  std::mt19937_64 rng_;
};

class ModelTest : public testing::StoreFixture {
 protected:
  // tmpfs when there is one: the thousands of commits and reopens then cost no disk
  // flushes (LMDB and its files are the same; only fsync becomes free), which keeps
  // the test's time independent of what else the disk is doing.
  std::filesystem::path Root() const override {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
    return testing::StoreFixture::Root();
  }
  void SetUp() override {
    testing::StoreFixture::SetUp();
    Reopen(Observer());
  }
  Store::Options Observer() {
    return Store::Options{[this](int64_t rev, std::vector<mvccpb::Event> events) {
      EXPECT_EQ(rev, ref_.current + 1);
      events_ = std::move(events);
    }};
  }

  // Runs one write both ways and compares the responses and the events.
  template <typename T, typename StoreFn, typename RefFn>
  void Write(const char* what, StoreFn store_fn, RefFn ref_fn) {
    events_.clear();
    base::Result<T> got = store_fn();
    Reference::Changes changes{ref_.current, 0, {}};
    base::Result<T> want = ref_fn(&changes);
    if (want.ok()) ref_.End(changes);
    ASSERT_EQ(Describe(got), Describe(want)) << what;
    ASSERT_EQ(Describe(events_), Describe(want.ok() ? changes.events : std::vector<mvccpb::Event>{})) << what;
    ++(want.ok() ? stats_.writes_ok : stats_.writes_failed);
    stats_.events += static_cast<int64_t>(events_.size());
  }

  void Step(Generator& g) {
    int op = g.Pick(100);
    if (std::getenv("ETCPP_MODEL_DEBUG") != nullptr) {
      std::fprintf(stderr, "op %d at revision %lld, compacted %lld\n", op,
                   static_cast<long long>(ref_.current), static_cast<long long>(ref_.compacted));
    }
    if (op < 25) {
      auto put = g.Put();
      Write<PutResponse>("put", [&] { return store_->Put(put); }, [&](auto* c) { return ref_.Put(c, put); });
    } else if (op < 35) {
      auto del = g.Delete();
      Write<DeleteRangeResponse>("delete", [&] { return store_->DeleteRange(del); },
                                 [&](auto* c) { return base::Result<DeleteRangeResponse>(ref_.Delete(c, del)); });
    } else if (op < 55) {
      auto txn = g.Txn(ref_, 0);
      Write<TxnResponse>("txn", [&] { return store_->Txn(txn); }, [&](auto* c) { return ref_.Txn(c, txn); });
    } else if (op < 75) {
      auto range = g.Range(ref_);
      auto want = ref_.Range(range, ref_.current);
      ASSERT_EQ(Describe(store_->Range(range)), Describe(want)) << "range";
      ++(want.ok() ? stats_.ranges_ok : stats_.ranges_failed);
    } else if (op < 82) {
      int64_t rev = g.Between(ref_.compacted - 1, ref_.current + 1);
      base::Status got = store_->Compact(rev);
      base::Status want = ref_.Compact(rev);
      ASSERT_EQ(got.message(), want.message()) << "compact " << rev;
      ++(want.ok() ? stats_.compactions_ok : stats_.compactions_failed);
    } else if (op < 88) {
      int64_t rev = g.Chance(30) ? 0 : g.Between(-1, ref_.current + 1);
      ASSERT_EQ(Describe(store_->HashKV(rev)), Describe(ref_.HashKV(rev))) << "hashkv " << rev;
    } else if (op < 94) {
      ASSERT_TRUE(store_->Commit().ok());
    } else {
      Reopen(Observer());
      ++stats_.reopens;
    }
  }

  void CheckState(Generator& g) {
    ASSERT_EQ(store_->Rev(), ref_.current);
    ASSERT_EQ(store_->CompactRev(), ref_.compacted);
    RangeRequest all;
    all.range_end = std::string(1, '\0');
    ASSERT_EQ(Describe(store_->Range(all)), Describe(ref_.Range(all, ref_.current))) << "all keys now";
    all.revision = g.Between(std::max<int64_t>(ref_.compacted, 1), ref_.current);
    ASSERT_EQ(Describe(store_->Range(all)), Describe(ref_.Range(all, ref_.current)))
        << "all keys at " << all.revision;
  }

  Reference ref_;
  std::vector<mvccpb::Event> events_;
  struct {
    int64_t writes_ok = 0, writes_failed = 0, events = 0, ranges_ok = 0, ranges_failed = 0,
            compactions_ok = 0, compactions_failed = 0, reopens = 0;
  } stats_;
};

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

TEST_F(ModelTest, RandomSequencesMatchTheReference) {
  const int sequences = EnvInt("ETCPP_MODEL_SEQUENCES", 5000);
  const int steps = 60;
  const int only_seed = EnvInt("ETCPP_MODEL_SEED", -1);
  int64_t total_steps = 0;
  for (int seed = 0; seed < sequences; ++seed) {
    if (only_seed >= 0 && seed != only_seed) continue;
    if (seed > 0) {  // a fresh store and reference per sequence
      TearDown();
      ref_ = Reference();
      testing::StoreFixture::SetUp();
      Reopen(Observer());
    }
    Generator g(static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ULL + 1);
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
      Step(g);
      if (HasFatalFailure()) return;
      CheckState(g);
      if (HasFatalFailure()) return;
      ++total_steps;
    }
  }
  std::printf(
      "model test: %d sequences, %lld steps; writes ok %lld / failed %lld, events %lld, "
      "ranges ok %lld / failed %lld, compactions ok %lld / failed %lld, reopens %lld\n",
      sequences, static_cast<long long>(total_steps), static_cast<long long>(stats_.writes_ok),
      static_cast<long long>(stats_.writes_failed), static_cast<long long>(stats_.events),
      static_cast<long long>(stats_.ranges_ok), static_cast<long long>(stats_.ranges_failed),
      static_cast<long long>(stats_.compactions_ok), static_cast<long long>(stats_.compactions_failed),
      static_cast<long long>(stats_.reopens));
}

}  // namespace
}  // namespace etcpp::mvcc
