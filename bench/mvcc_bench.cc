// MVCC store throughput on real LMDB files: puts (as the apply loop issues them, with
// CommitIfDue after each) and ranges (single key, 100-key prefix, from 1 and 2 threads).
// A program that prints figures; see docs/PERFORMANCE.md for how to run it.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "storage/mvcc/store.h"

namespace etcpp::mvcc {
namespace {

constexpr int kKeys = 100000;

std::string KeyOf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/bench/key/%08d", i);
  return buf;
}

// One store per process, filled once, shared by the range benchmarks.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<Store> store;

  explicit Fixture(const char* name) {
    dir = std::filesystem::temp_directory_path() / ("etcpp_mvcc_bench_" + std::to_string(::getpid()) + name);
    std::filesystem::remove_all(dir);
    backend::Config config;
    config.dir = dir.string();
    backend = std::move(backend::Backend::Open(config)).value();
    store = std::move(Store::Open(backend.get())).value();
  }
  ~Fixture() {
    store.reset();
    backend.reset();
    std::filesystem::remove_all(dir);
  }
};

// A function-local static, so the files are removed at exit.
Fixture& Filled() {
  static Fixture fixture("range");
  static const bool filled = [] {
    PutRequest put;
    put.value.assign(256, 'v');
    for (int i = 0; i < kKeys; ++i) {
      put.key = KeyOf(i);
      ETCPP_ASSERT(fixture.store->Put(put).ok());
      ETCPP_ASSERT(fixture.store->CommitIfDue(std::chrono::steady_clock::now()).ok());
    }
    ETCPP_ASSERT(fixture.store->Commit().ok());
    return true;
  }();
  ETCPP_ASSERT(filled);
  return fixture;
}

void BM_Put(benchmark::State& state) {
  Fixture f("put");
  std::mt19937 rng(1);
  PutRequest put;
  put.value.assign(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) {
    put.key = KeyOf(static_cast<int>(rng() % kKeys));
    auto r = f.store->Put(put);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    if (!f.store->CommitIfDue(std::chrono::steady_clock::now()).ok()) state.SkipWithError("commit");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Put)->Arg(256)->Unit(benchmark::kMicrosecond);

void BM_RangeSingleKey(benchmark::State& state) {
  Store& store = *Filled().store;
  std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 7);
  RangeRequest get;
  for (auto _ : state) {
    get.key = KeyOf(static_cast<int>(rng() % kKeys));
    auto r = store.Range(get);
    if (!r.ok() || r->kvs.size() != 1) state.SkipWithError("range");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeSingleKey)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Range100Keys(benchmark::State& state) {
  Store& store = *Filled().store;
  std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 11);
  RangeRequest range;
  for (auto _ : state) {
    int first = static_cast<int>(rng() % (kKeys - 100));
    range.key = KeyOf(first);
    range.range_end = KeyOf(first + 100);
    auto r = store.Range(range);
    if (!r.ok() || r->kvs.size() != 100) state.SkipWithError("range");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Range100Keys)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace etcpp::mvcc

BENCHMARK_MAIN();
