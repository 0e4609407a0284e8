// raft_bench: committed entries per second through the raft state machine alone — a
// 3-member cluster in one thread, in-memory storage, messages handed over directly.
// It measures the core's own cost (log, progress, protobuf copies), not disks or
// networks. Each iteration proposes a batch of 256-byte entries on the leader and
// runs every member's Ready loop until the leader has applied them all.
//
// BM_CommitEntries divides by the CPU time of all three members (one core doing the
// whole cluster's work). BM_LeaderCpu runs the same cluster but also reads the thread's
// CPU clock around every call into the leader and divides by that time only: what one
// leader core could sustain when each member has its own core, as in a real cluster.
// The clock reads are system calls, so BM_LeaderCpu's own totals are not comparable.
#include <benchmark/benchmark.h>
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "raft/rawnode.h"
#include "raft/storage.h"

namespace {

using etcpp::raft::Config;
using etcpp::raft::MemoryStorage;
using etcpp::raft::RawNode;
using etcpp::raft::Ready;

class BenchCluster {
 public:
  explicit BenchCluster(bool time_leader) : time_leader_(time_leader) {
    etcpp::raftpb::Snapshot snap;
    snap.mutable_metadata()->set_index(1);
    snap.mutable_metadata()->set_term(1);
    for (uint64_t id = 1; id <= 3; ++id)
      snap.mutable_metadata()->mutable_conf_state()->add_voters(id);
    for (uint64_t id = 1; id <= 3; ++id) {
      storage_[id] = std::make_unique<MemoryStorage>();
      if (!storage_[id]->ApplySnapshot(snap).ok()) std::abort();
      Config c;
      c.id = id;
      c.storage = storage_[id].get();
      c.random_seed = id;
      c.inflight_messages_max = 1024;
      nodes_[id] = RawNode::Create(c).value();
    }
    nodes_[1]->Campaign();
    Pump();
  }

  // Proposes `batch` entries on the leader and runs until it has applied them.
  void ProposeAndCommit(int batch, const std::string& payload) {
    const uint64_t target = applied_ + static_cast<uint64_t>(batch);
    const double start = Now();
    for (int i = 0; i < batch; ++i) {
      if (!nodes_[1]->Propose(payload).ok()) std::abort();
    }
    leader_time_ += Now() - start;
    while (applied_ < target) Pump();
    CompactIfLong();
  }

  uint64_t committed() const { return committed_; }
  double leader_seconds() const { return leader_time_; }

 private:
  // CPU time of this thread (on a loaded machine wall time would count preemption),
  // or 0 when the leader is not timed.
  double Now() const {
    if (!time_leader_) return 0;
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }

  void HandleReady(uint64_t id) {
    const double start = id == 1 ? Now() : 0;
    HandleReadyUntimed(id);
    if (id == 1) leader_time_ += Now() - start;
  }

  void HandleReadyUntimed(uint64_t id) {
    RawNode& n = *nodes_[id];
    MemoryStorage& s = *storage_[id];
    while (n.HasReady()) {
      Ready rd = n.GetReady();
      if (rd.snapshot && !s.ApplySnapshot(*rd.snapshot).ok()) std::abort();
      if (!s.Append(std::move(rd.entries)).ok()) std::abort();
      if (rd.hard_state) s.SetHardState(*rd.hard_state);
      for (auto& m : rd.messages) queue_.push_back(std::move(m));
      if (id == 1 && !rd.committed_entries.empty()) {
        committed_ += rd.committed_entries.size();
        applied_ = rd.committed_entries.back().index();
      }
      n.Advance();
    }
  }

  void Pump() {
    for (uint64_t id = 1; id <= 3; ++id) HandleReady(id);
    while (!queue_.empty()) {
      std::vector<etcpp::raftpb::Message> batch;
      batch.swap(queue_);
      for (auto& m : batch) {
        const uint64_t to = m.to();
        const double start = to == 1 ? Now() : 0;
        (void)nodes_[to]->Step(std::move(m));
        if (to == 1) leader_time_ += Now() - start;
      }
      for (uint64_t id = 1; id <= 3; ++id) HandleReady(id);
    }
  }

  // Keeps memory flat over millions of entries, as a server's snapshots would.
  void CompactIfLong() {
    for (uint64_t id = 1; id <= 3; ++id) {
      MemoryStorage& s = *storage_[id];
      const uint64_t applied = nodes_[id]->raft().log().applied();
      if (applied < s.FirstIndex() + 100000) continue;
      if (!s.CreateSnapshot(applied, nodes_[id]->GetConfState(), std::string()).ok()) std::abort();
      if (!s.Compact(applied).ok()) std::abort();
    }
  }

  std::unique_ptr<MemoryStorage> storage_[4];
  std::unique_ptr<RawNode> nodes_[4];
  std::vector<etcpp::raftpb::Message> queue_;
  uint64_t applied_ = 0;
  uint64_t committed_ = 0;
  bool time_leader_;
  double leader_time_ = 0;  // seconds of CPU
};

void BM_CommitEntries(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const std::string payload(256, 'x');
  BenchCluster cluster(false);
  const uint64_t before = cluster.committed();
  for (auto _ : state) cluster.ProposeAndCommit(batch, payload);
  const double entries = static_cast<double>(cluster.committed() - before);
  state.counters["entries_per_second"] = benchmark::Counter(entries, benchmark::Counter::kIsRate);
}

void BM_LeaderCpu(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const std::string payload(256, 'x');
  BenchCluster cluster(true);
  const uint64_t before = cluster.committed();
  const double leader_before = cluster.leader_seconds();
  for (auto _ : state) cluster.ProposeAndCommit(batch, payload);
  const double entries = static_cast<double>(cluster.committed() - before);
  state.counters["leader_entries_per_second"] =
      entries / (cluster.leader_seconds() - leader_before);
}

BENCHMARK(BM_CommitEntries)->Arg(1)->Arg(64)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeaderCpu)->Arg(64)->Arg(512)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
