// EtcdServer: one etcd member. It ties raft, the durable raft storage and the MVCC
// store together (DESIGN.md §2):
//
//   API threads ──Propose──▶ raft loop ──committed entries──▶ apply loop ──▶ waiter
//                ──ReadIndex─▶ raft loop ──read state──▶ apply loop (applied ≥ index)
//                                                       ──▶ read pool runs the read
//
//   - raft loop (one thread): owns the RawNode and RaftStorage. Ticks, feeds proposals
//     and read requests, makes each Ready durable (one WAL sync), hands committed
//     entries to the apply loop, calls Advance.
//   - apply loop (one thread): owns every write to the MVCC store and backend; applies
//     entries in log order, records the consistent index in the same backend batch,
//     commits the backend every --backend-batch-interval, answers waiters, releases
//     reads whose index has been applied.
//   - read pool: runs linearizable reads once released, and serializable reads at once,
//     concurrently with the apply loop (the store's readers never block its writer).
//
// Every public method may be called from any thread. Answers arrive through the Done
// callback, on an internal thread; it must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "etcpp/serverpb.pb.h"
#include "raft/rawnode.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/raft_storage.h"
#include "storage/backend/backend.h"
#include "storage/mvcc/store.h"

namespace etcpp::server {

template <typename T>
using Done = std::function<void(base::Result<T>)>;

// What applying one internal request produced, handed to its waiter.
using ApplyResult = std::variant<etcdserverpb::PutResponse, etcdserverpb::DeleteRangeResponse,
                                 etcdserverpb::TxnResponse, etcdserverpb::CompactionResponse>;

class EtcdServer {
 public:
  // Opens or creates the member's data dir and starts its threads. Fails, touching
  // nothing, when the data dir belongs to another member or is corrupt.
  static base::Result<std::unique_ptr<EtcdServer>> Start(const Config& config);
  ~EtcdServer();
  // Stops taking requests, fails those in flight with "etcdserver: server stopped",
  // commits the backend and joins the threads. Idempotent.
  void Stop();

  // --- KV ---
  void Range(etcdserverpb::RangeRequest request, Done<etcdserverpb::RangeResponse> done);
  void Put(etcdserverpb::PutRequest request, Done<etcdserverpb::PutResponse> done);
  void DeleteRange(etcdserverpb::DeleteRangeRequest request,
                   Done<etcdserverpb::DeleteRangeResponse> done);
  void Txn(etcdserverpb::TxnRequest request, Done<etcdserverpb::TxnResponse> done);
  void Compact(etcdserverpb::CompactionRequest request,
               Done<etcdserverpb::CompactionResponse> done);

  // --- Maintenance and Cluster ---
  etcdserverpb::StatusResponse Status() const;
  void HashKV(int64_t revision, Done<etcdserverpb::HashKVResponse> done);
  // Compacts the backend file while readers carry on (LMDB's compacting copy).
  void Defragment(Done<etcdserverpb::DefragmentResponse> done);
  // Maintenance.Snapshot (snapshot.cc): a consistent copy of the backend in an unlinked
  // temporary file, closed when the last holder lets go.
  struct BackendCopy {
    int fd = -1;
    int64_t size_bytes = 0;
    ~BackendCopy();
  };
  // Commits what is applied (so the copy holds every applied write, as etcd's), then
  // copies the committed state on the read pool, away from the apply loop.
  void SnapshotBackend(Done<std::shared_ptr<BackendCopy>> done);
  std::vector<serverpb::Member> Members() const;
  // A response header as etcd fills it: cluster and member id, current revision, term.
  etcdserverpb::ResponseHeader Header() const;

  Metrics& metrics() { return metrics_; }
  // The Prometheus text for GET /metrics, with the size gauges brought up to date.
  std::string MetricsText();

  uint64_t leader() const { return leader_.load(); }

 private:
  struct Proposal {
    std::string data;
  };
  // A linearizable read: `run` performs it once the applied index reaches its ReadIndex
  // round's index; `fail` answers it instead when no round confirms it by `deadline`
  // (no leader, lost messages). Exactly one of the two is called.
  struct PendingRead {
    std::function<void()> run;
    std::function<void(base::Status)> fail;
    std::chrono::steady_clock::time_point deadline;
  };
  using ReadBatch = std::vector<PendingRead>;
  struct ReadRound {
    std::chrono::steady_clock::time_point started;
    ReadBatch reads;
  };

  explicit EtcdServer(const Config& config) : config_(config) {}
  base::Status Bootstrap();
  base::Status NewMember(const std::string& wal_dir, const std::string& snap_dir);
  base::Status RestartMember(const std::string& wal_dir, const std::string& snap_dir);
  base::Status LoadMembers(bool restart);
  base::Status CreateRaftNode();
  void StartThreads();

  // raft_loop.cc
  void RaftLoop();
  void HandleReady(raft::Ready ready);
  void TakeSnapshot(uint64_t index);

  // apply_loop.cc
  void ApplyLoop();
  void PostApplyTask(std::function<void()> task);
  void ApplyEntries(const std::vector<raftpb::Entry>& entries);
  void ApplyEntry(const raftpb::Entry& entry);
  ApplyResult ApplyRequest(const serverpb::InternalRequest& request, base::Status* error);
  void ReleaseReads();
  // Every --snapshot-count entries: commits the backend, then asks the raft loop to
  // snapshot at the applied index so the WAL can be released.
  void MaybeSnapshot();

  // requests.cc
  void Propose(serverpb::InternalRequest request,
               std::function<void(base::Result<ApplyResult>)> done);
  void LinearizableRead(std::function<void()> run, std::function<void(base::Status)> fail);
  // Raft loop, every tick: re-asks rounds unanswered for an election timeout (the leader
  // may have changed) and fails reads past their deadline.
  void ExpireReads(std::chrono::steady_clock::time_point now);
  template <typename Response>
  void ProposeAndWait(serverpb::InternalRequest request, Done<Response> done);
  void FillHeader(etcdserverpb::ResponseHeader* header) const;
  // Answers the proposals nobody applied in time (raft loop, on every tick).
  void ExpireWaiters(std::chrono::steady_clock::time_point now);
  // etcd's request timeout: 5 s plus two election timeouts.
  std::chrono::milliseconds RequestTimeout() const {
    return std::chrono::milliseconds(5000 + 2 * config_.election_timeout_ms);
  }

  const Config config_;
  Metrics metrics_;
  uint64_t member_id_ = 0;
  uint64_t cluster_id_ = 0;

  std::unique_ptr<RaftStorage> raft_storage_;
  std::unique_ptr<raft::RawNode> node_;            // raft loop only
  std::unique_ptr<backend::Backend> backend_;
  std::unique_ptr<mvcc::Store> store_;
  std::unique_ptr<boost::asio::thread_pool> read_pool_;

  std::atomic<uint64_t> leader_{0};
  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> commit_index_{0};
  std::atomic<uint64_t> applied_index_{0};
  std::atomic<uint64_t> next_request_id_{0};
  std::atomic<bool> stopping_{false};

  // Inbox of the raft loop.
  std::mutex raft_mu_;
  std::condition_variable raft_cv_;
  std::vector<Proposal> proposals_;           // guarded by raft_mu_
  uint64_t snapshot_wanted_at_ = 0;           // guarded by raft_mu_: a durable applied index
  ReadBatch reads_waiting_;                   // guarded by raft_mu_: not yet in a round
  ReadBatch reads_unsent_;                    // raft loop only: ReadIndex refused, retried
  std::map<std::string, ReadRound> reads_in_round_;  // raft loop only, by context
  uint64_t read_round_ = 0;                   // raft loop only

  // Inbox of the apply loop.
  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  // Work for the backend's owner, in order: committed entries, hashes.
  std::deque<std::function<void()>> apply_tasks_;           // guarded by apply_mu_
  std::multimap<uint64_t, ReadBatch> reads_at_index_;       // guarded by apply_mu_
  uint64_t snapshot_index_ = 0;  // apply loop only: applied index of the last snapshot asked for

  // Waiters of this member's proposals, by request id, and when each gives up.
  using Deadlines = std::multimap<std::chrono::steady_clock::time_point, uint64_t>;
  struct Waiter {
    std::function<void(base::Result<ApplyResult>)> done;
    Deadlines::iterator deadline;
  };
  // Removes and returns the waiter of `id`, if it is still waiting.
  std::function<void(base::Result<ApplyResult>)> TakeWaiter(uint64_t id);
  mutable std::mutex waiters_mu_;
  std::map<uint64_t, Waiter> waiters_;  // guarded by waiters_mu_
  Deadlines waiter_deadlines_;          // guarded by waiters_mu_

  // Members of the cluster, as loaded at start (membership changes are not served yet).
  mutable std::mutex members_mu_;
  std::vector<serverpb::Member> members_;  // guarded by members_mu_

  std::thread raft_thread_;
  std::thread apply_thread_;
};

}  // namespace etcpp::server
