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
#include <optional>
#include <set>
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
#include "transport/transport.h"

namespace etcpp::server {

template <typename T>
using Done = std::function<void(base::Result<T>)>;

// What applying one internal request produced, handed to its waiter.
using ApplyResult = std::variant<etcdserverpb::PutResponse, etcdserverpb::DeleteRangeResponse,
                                 etcdserverpb::TxnResponse, etcdserverpb::CompactionResponse,
                                 etcdserverpb::MemberListResponse>;

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
  std::vector<serverpb::Member> Members() const;
  // Hands leadership to `target` (a voter); answered once it leads.
  void MoveLeader(uint64_t target, Done<etcdserverpb::MoveLeaderResponse> done);

  // --- Cluster (cluster.cc) ---
  void MemberAdd(etcdserverpb::MemberAddRequest request, Done<etcdserverpb::MemberAddResponse> done);
  void MemberRemove(uint64_t id, Done<etcdserverpb::MemberRemoveResponse> done);
  void MemberUpdate(etcdserverpb::MemberUpdateRequest request,
                    Done<etcdserverpb::MemberUpdateResponse> done);
  void MemberPromote(uint64_t id, Done<etcdserverpb::MemberPromoteResponse> done);
  void MemberList(bool linearizable, Done<etcdserverpb::MemberListResponse> done);

  // The service the other members call; served on the peer listener.
  grpc::Service* peer_service() { return transport_->service(); }
  // A response header as etcd fills it: cluster and member id, current revision, term.
  etcdserverpb::ResponseHeader Header() const;

  Metrics& metrics() { return metrics_; }
  // The Prometheus text for GET /metrics, with the size gauges brought up to date.
  std::string MetricsText();

  uint64_t leader() const { return leader_.load(); }

 private:
  struct Proposal {
    std::string data;
    std::optional<raftpb::ConfChange> conf_change;  // else data is an internal request
    std::chrono::steady_clock::time_point made = std::chrono::steady_clock::now();
  };
  // A MoveLeader in progress (raft loop only).
  struct Transfer {
    uint64_t target = 0;
    std::chrono::steady_clock::time_point deadline;
    Done<etcdserverpb::MoveLeaderResponse> done;
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
  base::Status JoinMember(const std::string& wal_dir, const std::string& snap_dir);
  // After a crash between saving a received snapshot and installing its backend file.
  base::Status RecoverBackendFromSnapshot(const std::string& snap_dir);
  base::Status LoadMembers(bool restart);
  void StartTransport(const std::string& snap_dir);
  base::Status CreateRaftNode();
  void StartThreads();

  // raft_loop.cc
  void RaftLoop();
  void HandleReady(raft::Ready ready);
  void TakeSnapshot(uint64_t index, const raftpb::ConfState& conf);
  void CheckTransfer(std::chrono::steady_clock::time_point now);

  // apply_loop.cc
  void ApplyLoop();
  void PostApplyTask(std::function<void()> task);
  void ApplyEntries(const std::vector<raftpb::Entry>& entries);
  void ApplyEntry(const raftpb::Entry& entry);
  ApplyResult ApplyRequest(const serverpb::InternalRequest& request, base::Status* error);
  void ReleaseReads();
  // cluster.cc: membership in the apply loop.
  void ApplyConfChange(const raftpb::Entry& entry);
  base::Status ValidateConfChange(const raftpb::ConfChange& change, const serverpb::Member& member);
  void ApplyMemberAttributes(const serverpb::MemberAttributes& attributes);
  void SaveMember(const serverpb::Member& member);
  raftpb::ConfState ConfStateLocked() const;
  // Replaces the backend with the file a leader sent, up to `index` at least.
  void InstallSnapshot(uint64_t index);
  void SyncPeers();
  // Proposes this member's name and client URLs until the cluster has them (etcd's publish).
  void Publish();
  void ProposeConfChange(raftpb::ConfChange change,
                         std::function<void(base::Result<ApplyResult>)> done);
  etcdserverpb::Member MemberToWire(const serverpb::Member& m) const;
  bool LearnerReady(uint64_t id) const;
  // Every --snapshot-count entries: commits the backend, then asks the raft loop to
  // snapshot at the applied index so the WAL can be released.
  void MaybeSnapshot();

  // requests.cc
  void Propose(serverpb::InternalRequest request,
               std::function<void(base::Result<ApplyResult>)> done);
  void AddWaiter(uint64_t id, std::function<void(base::Result<ApplyResult>)> done);
  void LinearizableRead(std::function<void()> run, std::function<void(base::Status)> fail);
  // Raft loop, every tick: re-asks rounds unanswered for an election timeout (the leader
  // may have changed) and fails reads past their deadline.
  void ExpireReads(std::chrono::steady_clock::time_point now);
  template <typename Response>
  void ProposeAndWait(serverpb::InternalRequest request, Done<Response> done);
  void FillHeader(etcdserverpb::ResponseHeader* header) const;
  // Answers the proposals nobody applied in time (raft loop, on every tick).
  void ExpireWaiters(std::chrono::steady_clock::time_point now);
  // What a request that got no answer in time is told: without a leader, etcd's
  // "no leader"; with one, a plain time-out.
  base::Status TimedOut() const {
    return base::Status(base::Code::kUnavailable, leader_.load() == 0
                                                      ? "etcdserver: no leader"
                                                      : "etcdserver: request timed out");
  }
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
  std::unique_ptr<transport::Transport> transport_;
  std::string snap_dir_;

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
  std::vector<raftpb::Message> messages_in_;  // guarded by raft_mu_: from peers
  std::vector<uint64_t> unreachable_;         // guarded by raft_mu_
  std::vector<std::pair<uint64_t, bool>> snapshot_reports_;  // guarded by raft_mu_
  std::vector<raftpb::ConfChange> conf_changes_applied_;     // guarded by raft_mu_
  std::optional<raftpb::ConfState> snapshot_conf_;            // guarded by raft_mu_
  std::optional<Transfer> transfer_wanted_;                   // guarded by raft_mu_
  std::optional<Transfer> transfer_;          // raft loop only
  bool is_leader_ = false;                    // raft loop only
  std::vector<Proposal> proposals_held_;      // raft loop only: waiting for a leader
  // The leader's view of how far each member's log matches its own (raft loop, per tick).
  mutable std::mutex progress_mu_;
  std::map<uint64_t, uint64_t> progress_match_;  // guarded by progress_mu_; empty unless leader

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

  // Members of the cluster as applied; written by the apply loop.
  mutable std::mutex members_mu_;
  std::vector<serverpb::Member> members_;  // guarded by members_mu_
  std::set<uint64_t> removed_;             // guarded by members_mu_

  std::thread raft_thread_;
  std::thread apply_thread_;
  std::thread publish_thread_;
};

}  // namespace etcpp::server
