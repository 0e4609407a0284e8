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
#include "lease/lessor.h"
#include "raft/rawnode.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/raft_storage.h"
#include "storage/backend/backend.h"
#include "storage/mvcc/store.h"
#include "transport/transport.h"
#include "storage/mvcc/watch.h"

namespace etcpp::server {

// Backend meta key (member-local, so outside Maintenance.Hash): the consistent index of
// the last snapshot file installed from a leader.
inline constexpr char kInstalledIndexKey[] = "local_installed_snapshot_index";

template <typename T>
using Done = std::function<void(base::Result<T>)>;

// What applying one internal request produced, handed to its waiter.
using ApplyResult = std::variant<etcdserverpb::PutResponse, etcdserverpb::DeleteRangeResponse,
                                 etcdserverpb::TxnResponse, etcdserverpb::CompactionResponse,
                                 etcdserverpb::MemberListResponse, etcdserverpb::AlarmResponse,
                                 etcdserverpb::LeaseGrantResponse, etcdserverpb::LeaseRevokeResponse,
                                 etcdserverpb::LeaseCheckpointResponse>;

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
  // GET lists alarms; ACTIVATE and DEACTIVATE go through raft (alarms.cc).
  void Alarm(etcdserverpb::AlarmRequest request, Done<etcdserverpb::AlarmResponse> done);
  std::vector<etcdserverpb::AlarmMember> Alarms() const;
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

  // --- Lease (lease.cc) ---
  // Grant and revoke go through raft. KeepAlive and TimeToLive are answered by the
  // leader, which alone keeps expiries; a follower hands them to the lease forwarder.
  // KeepAlive answers TTL 0 and TimeToLive TTL -1 for a lease that is gone, as etcd.
  void LeaseGrant(etcdserverpb::LeaseGrantRequest request, Done<etcdserverpb::LeaseGrantResponse> done);
  void LeaseRevoke(etcdserverpb::LeaseRevokeRequest request,
                   Done<etcdserverpb::LeaseRevokeResponse> done);
  void LeaseKeepAlive(etcdserverpb::LeaseKeepAliveRequest request,
                      Done<etcdserverpb::LeaseKeepAliveResponse> done);
  void LeaseTimeToLive(etcdserverpb::LeaseTimeToLiveRequest request,
                       Done<etcdserverpb::LeaseTimeToLiveResponse> done);
  void LeaseLeases(etcdserverpb::LeaseLeasesRequest request, Done<etcdserverpb::LeaseLeasesResponse> done);

 private:
  // lease.cc
  base::Status OpenLessor();  // in Bootstrap, once the store is open; after a snapshot
  // Apply loop, on every wake-up: follows leadership (Promote/Demote) and proposes the
  // revokes of expired leases and the checkpoints due.
  void LeaseTick();
  // Answers the lease requests, and puts or txns whose lease does not exist; nullopt
  // for everything else, which the caller applies and then passes to AttachLeases.
  std::optional<ApplyResult> ApplyLeaseRequest(const serverpb::InternalRequest& request,
                                               base::Status* error);
  void AttachLeases(const serverpb::InternalRequest& request, const ApplyResult& result);
  bool TxnLeasesExist(const etcdserverpb::TxnRequest& txn);
  std::unique_ptr<lease::Lessor> lessor_;
  bool lease_primary_ = false;  // apply loop only: whether the lessor was promoted
  uint64_t lease_term_ = 0;     // apply loop only: the term it was promoted in

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
  transport::PeerTls PeerTls() const;
  base::Status CreateRaftNode();
  uint64_t InstalledSnapshotIndex() const;
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
  // compactor.cc: its own thread.
  void Compactor();
  // corrupt.cc
  base::Status CheckInitialHashKV();  // before the raft loop starts, on a restart
  void CorruptChecker();              // its own thread; checks while this member leads
  void CheckHashKV();
  base::Result<etcdserverpb::HashKVResponse> HashKVNow(int64_t revision);  // blocks
  // alarms.cc
  base::Status LoadAlarms();
  bool Alarmed(etcdserverpb::AlarmType type) const;
  bool CorruptAlarmed() const { return Alarmed(etcdserverpb::CORRUPT); }
  base::Status CheckSpace(int64_t cost_bytes);
  etcdserverpb::AlarmResponse ApplyAlarm(const etcdserverpb::AlarmRequest& request);
  void MaybeRaiseNoSpace();
  void RaiseNoSpace();
  // cluster.cc: membership in the apply loop.
  void ApplyConfChange(const raftpb::Entry& entry);
  base::Status ValidateConfChange(const raftpb::ConfChange& change, const serverpb::Member& member);
  void ApplyMemberAttributes(const serverpb::MemberAttributes& attributes);
  void SaveMember(const serverpb::Member& member);
  raftpb::ConfState ConfStateLocked() const;
  // Replaces the backend with the file a leader sent, up to `index` at least.
  void InstallSnapshot(uint64_t index);
  void SyncPeers();
  // This member was removed from the cluster: it stops (SIGTERM to its own process).
  void StopRemoved();
  // The voters this member has been connected to for etcd's health interval, itself included.
  int ConnectedVoters(const std::vector<serverpb::Member>& members);
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
  bool restarted_ = false;  // the data dir held a WAL at start

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

  mutable std::mutex alarms_mu_;
  std::vector<etcdserverpb::AlarmMember> alarms_;  // guarded by alarms_mu_; as applied
  std::atomic<bool> nospace_proposed_{false};

  std::thread raft_thread_;
  std::thread apply_thread_;
  std::thread publish_thread_;
  std::thread compactor_thread_;
  std::thread corrupt_checker_thread_;
  // The compactor and the corruption checker wait on these to be woken by Stop().
  std::mutex compactor_mu_;
  std::condition_variable compactor_cv_;

  // --- Watch (watch.cc) ---
 public:
  // A stream of watchers on this member's store (storage/mvcc/watch.h). `on_ready` runs
  // when the stream has a response to Take; it must not block or call the stream.
  // Every stream must be destroyed before the server.
  std::unique_ptr<mvcc::WatchStream> NewWatchStream(std::function<void()> on_ready);
  // A watch response as etcd sends it, its header filled (cluster, member, term) at the
  // response's revision.
  etcdserverpb::WatchResponse WatchResponseToWire(mvcc::WatchResponse response) const;

 private:
  mvcc::Store::Options WatchStoreOptions();
  void StartWatchable();
  // Last member: destroyed first, while the store it reads is still there.
  std::unique_ptr<mvcc::WatchableStore> watchable_;
};

template <typename Response>
void EtcdServer::ProposeAndWait(serverpb::InternalRequest request, Done<Response> done) {
  Propose(std::move(request), [this, done = std::move(done)](base::Result<ApplyResult> result) {
    if (!result.ok()) return done(result.status());
    Response response = std::get<Response>(std::move(result.value()));
    FillHeader(response.mutable_header());
    done(std::move(response));
  });
}

}  // namespace etcpp::server
