#include "server/server.h"

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <algorithm>

#include "base/log.h"
#include "server/datadir.h"
#include "server/member.h"
#include "server/version.h"

namespace etcpp::server {

namespace fs = std::filesystem;

namespace {

base::Status Refuse(const std::string& message) {
  return base::Status(base::Code::kFailedPrecondition, message);
}

std::string Join(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) out += (out.empty() ? "" : ",") + url;
  return out;
}

}  // namespace

base::Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(const Config& config) {
  std::unique_ptr<EtcdServer> server(new EtcdServer(config));
  // The apply thread owns the backend from the moment it is opened (LMDB ties a write
  // transaction to its thread), so it is the one that bootstraps.
  std::promise<base::Status> bootstrapped;
  server->apply_thread_ = std::thread([s = server.get(), &bootstrapped] {
    base::Status status = s->Bootstrap();
    bool ok = status.ok();
    bootstrapped.set_value(std::move(status));
    if (ok) s->ApplyLoop();
  });
  base::Status status = bootstrapped.get_future().get();
  // A new member has nothing to compare yet (as in etcd).
  if (status.ok() && server->restarted_ && config.initial_corrupt_check) status = server->CheckInitialHashKV();
  if (!status.ok()) {
    server->stopping_ = true;
    server->apply_thread_.join();
    return status;
  }
  server->StartThreads();
  return server;
}

// Opens the data dir: a restart when it holds a WAL, else a new single cluster from
// --initial-cluster.
base::Status EtcdServer::Bootstrap() {
  fs::path member_dir = fs::path(config_.data_dir) / "member";
  std::string wal_dir = config_.wal_dir.empty() ? (member_dir / "wal").string() : config_.wal_dir;
  std::string snap_dir = (member_dir / "snap").string();
  bool restart = RaftStorage::Exists(wal_dir);
  restarted_ = restart;
  std::error_code ec;
  fs::create_directories(member_dir, ec);
  if (ec) {
    return base::Status(base::Code::kIoError,
                        "cannot create " + member_dir.string() + ": " + ec.message());
  }
  backend::Config backend_config;
  backend_config.dir = (member_dir / "backend").string();
  backend_config.batch_interval_ms = static_cast<int64_t>(config_.backend_batch_interval_ms);
  backend_config.batch_ops_max = static_cast<int64_t>(config_.backend_batch_limit);
  backend_config.quota_bytes = config_.BackendQuotaBytes();
  auto backend = backend::Backend::Open(backend_config);
  if (!backend.ok()) return backend.status();
  backend_ = std::move(*backend);

  ETCPP_RETURN_IF_ERROR(restart ? RestartMember(wal_dir, snap_dir) : NewMember(wal_dir, snap_dir));
  if (restart) ETCPP_RETURN_IF_ERROR(RecoverBackendFromSnapshot(snap_dir));
  ETCPP_RETURN_IF_ERROR(LoadMembers(restart));
  ETCPP_RETURN_IF_ERROR(LoadAlarms());
  auto store = mvcc::Store::Open(backend_.get(), WatchStoreOptions());
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  ETCPP_RETURN_IF_ERROR(OpenLessor());
  StartWatchable();
  ETCPP_RETURN_IF_ERROR(CreateRaftNode());
  StartTransport(snap_dir);
  base::Log(base::LogLevel::kInfo, restart ? "restarting member" : "starting a new member",
            {{"member-id", IdHex(member_id_)},
             {"cluster-id", IdHex(cluster_id_)},
             {"data-dir", config_.data_dir},
             {"applied-index", applied_index_.load()},
             {"revision", store_->Rev()}});
  return base::Status::Ok();
}

// A new member of a new cluster. The backend is prepared before the WAL is created, so
// a crash in between leaves no WAL and the next start simply bootstraps again.
base::Status EtcdServer::NewMember(const std::string& wal_dir, const std::string& snap_dir) {
  if (config_.initial_cluster_state == "existing") return JoinMember(wal_dir, snap_dir);
  auto members = ParseInitialCluster(config_.initial_cluster, config_.initial_cluster_token);
  if (!members.ok()) return members.status();
  const serverpb::Member* self = nullptr;
  for (const auto& m : *members) {
    if (m.name() == config_.name) self = &m;
  }
  if (!self) {
    return Refuse("couldn't find local name \"" + config_.name +
                  "\" in the initial cluster configuration");
  }
  std::vector<std::string> advertised = config_.initial_advertise_peer_urls;
  std::vector<std::string> listed(self->peer_urls().begin(), self->peer_urls().end());
  std::sort(advertised.begin(), advertised.end());
  std::sort(listed.begin(), listed.end());
  if (advertised != listed) {
    return Refuse("--initial-cluster has " + config_.name + "=" + Join(listed) +
                  " but missing from --initial-advertise-peer-urls=" + Join(advertised));
  }
  member_id_ = self->id();
  std::vector<serverpb::Member> records = *members;
  std::vector<uint64_t> ids;
  for (auto& record : records) {
    ids.push_back(record.id());
    // The others publish their names and client URLs once they run.
    if (record.id() == member_id_) {
      for (const auto& url : config_.advertise_client_urls) record.add_client_urls(url);
    }
  }
  cluster_id_ = ComputeClusterId(ids);
  auto storage = InitializeMemberDataDir(backend_.get(), wal_dir, snap_dir, records, member_id_);
  if (!storage.ok()) return storage.status();
  raft_storage_ = std::move(*storage);
  return base::Status::Ok();
}

// A member added with `member add` joining the running cluster: the cluster's members
// tell it its id; the leader then sends it a snapshot and the log.
base::Status EtcdServer::JoinMember(const std::string& wal_dir, const std::string& snap_dir) {
  auto initial = ParseInitialCluster(config_.initial_cluster, config_.initial_cluster_token);
  if (!initial.ok()) return initial.status();
  std::vector<std::string> peer_urls;
  for (const auto& m : *initial) {
    if (m.name() == config_.name) continue;
    peer_urls.insert(peer_urls.end(), m.peer_urls().begin(), m.peer_urls().end());
  }
  auto cluster = transport::Transport::FetchCluster(peer_urls, PeerTls());
  if (!cluster.ok()) {
    return Refuse("cannot fetch cluster info from peer urls " + Join(peer_urls) +
                  " (--initial-cluster-state existing)");
  }
  std::vector<std::string> advertised = config_.initial_advertise_peer_urls;
  std::sort(advertised.begin(), advertised.end());
  for (const auto& m : cluster->members()) {
    std::vector<std::string> urls(m.peer_urls().begin(), m.peer_urls().end());
    std::sort(urls.begin(), urls.end());
    if (urls == advertised) member_id_ = m.id();
  }
  if (member_id_ == 0) {
    return Refuse("the cluster has no member with peer URLs " + Join(advertised) +
                  " (add it with `member add` first)");
  }
  cluster_id_ = cluster->cluster_id();
  for (const auto& m : cluster->members()) {
    ETCPP_RETURN_IF_ERROR(
        backend_->Put(backend::Bucket::kMembers, MemberKey(m.id()), m.SerializeAsString()));
  }
  ETCPP_RETURN_IF_ERROR(backend_->Commit());
  auto storage = RaftStorage::Create(wal_dir, snap_dir, {member_id_, cluster_id_}, raftpb::Snapshot());
  if (!storage.ok()) return storage.status();
  raft_storage_ = std::move(*storage);
  return base::Status::Ok();
}

// As in etcd, on a restart the data dir decides who this member is; the --initial-*
// flags are ignored.
base::Status EtcdServer::RestartMember(const std::string& wal_dir, const std::string& snap_dir) {
  auto storage = RaftStorage::Open(wal_dir, snap_dir);
  if (!storage.ok()) return storage.status();
  raft_storage_ = std::move(*storage);
  member_id_ = raft_storage_->metadata().member_id;
  cluster_id_ = raft_storage_->metadata().cluster_id;
  return base::Status::Ok();
}

base::Status EtcdServer::RecoverBackendFromSnapshot(const std::string& snap_dir) {
  uint64_t index = raft_storage_->snapshot().metadata().index();
  if (backend_->ConsistentIndex() >= index) return base::Status::Ok();
  std::string db = transport::SnapshotDbPath(snap_dir, index);
  if (!fs::exists(db)) return base::Status::Ok();  // CreateRaftNode reports the gap
  base::Log(base::LogLevel::kInfo, "recovering the backend from a received snapshot",
            {{"snapshot-index", index}, {"file", db}});
  return backend_->ReplaceWith(db);
}

base::Status EtcdServer::LoadMembers(bool restart) {
  auto read = backend_->Read();
  if (!read.ok()) return read.status();
  std::lock_guard lock(members_mu_);
  members_.clear();
  removed_.clear();
  ETCPP_RETURN_IF_ERROR(read->ForEach(
      backend::Bucket::kMembers, "", "", [this](std::string_view key, std::string_view value) {
        if (IsRemovedMemberKey(key)) {
          removed_.insert(RemovedMemberId(key));  // removed members never come back
          return true;
        }
        serverpb::Member m;
        ETCPP_ASSERT_MSG(m.ParseFromArray(value.data(), static_cast<int>(value.size())),
                         "unparsable member record in the backend");
        members_.push_back(std::move(m));
        return true;
      }));
  // A --name that is not the data dir's member means the operator pointed it at another
  // member's data, which must not be served under this name. A member that joined and
  // stopped before its name was published has none yet: nothing to compare.
  for (const auto& m : members_) {
    if (restart && m.id() == member_id_ && !m.name().empty() && m.name() != config_.name) {
      return Refuse("data dir " + config_.data_dir + " belongs to member " + IdHex(member_id_) +
                    " (\"" + m.name() + "\") of cluster " + IdHex(cluster_id_) +
                    ", not to --name \"" + config_.name + "\"");
    }
  }
  return base::Status::Ok();
}

uint64_t EtcdServer::InstalledSnapshotIndex() const {
  auto read = backend_->Read();
  if (!read.ok()) return 0;
  auto value = read->Get(backend::Bucket::kMeta, kInstalledIndexKey);
  if (!value.ok() || !value->has_value()) return 0;
  return std::strtoull(std::string(**value).c_str(), nullptr, 10);
}

base::Status EtcdServer::CreateRaftNode() {
  uint64_t applied = backend_->ConsistentIndex();
  // The backend only ever holds entries the WAL made durable first; a backend ahead of
  // the WAL means the WAL lost acknowledged entries (or belongs to other data).
  uint64_t wal_commit = raft_storage_->memory()->hard_state().commit();
  if (applied > wal_commit && applied != InstalledSnapshotIndex()) {
    return base::Status(base::Code::kCorruption,
                        "backend of " + config_.data_dir + " is at index " + std::to_string(applied) +
                            ", ahead of the WAL's commit index " + std::to_string(wal_commit));
  }
  if (applied < raft_storage_->snapshot().metadata().index()) {
    return base::Status(base::Code::kCorruption,
                        "backend of " + config_.data_dir + " is at index " + std::to_string(applied) +
                            ", behind the snapshot at " +
                            std::to_string(raft_storage_->snapshot().metadata().index()));
  }
  applied_index_ = applied;
  snapshot_index_ = raft_storage_->snapshot().metadata().index();
  // etcd's request id layout: the low 16 bits of the member id, then a millisecond
  // clock, then a counter, so ids stay unique across restarts of this member.
  uint64_t now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  next_request_id_ = (member_id_ << 48) | ((now_ms & ((uint64_t{1} << 40) - 1)) << 8);

  raft::Config raft_config;
  raft_config.id = member_id_;
  raft_config.election_ticks =
      static_cast<int>(config_.election_timeout_ms / config_.heartbeat_interval_ms);
  raft_config.heartbeat_ticks = 1;
  raft_config.storage = raft_storage_->memory();
  // raft.applied is left at the snapshot: raft hands out again the committed entries the
  // backend already holds, so the apply loop can replay their membership changes into
  // raft's configuration (a member added or removed since the last snapshot would
  // otherwise be forgotten on restart and the new member never heard from again).
  raft_config.pre_vote = config_.pre_vote;
  raft_config.check_quorum = true;
  raft_config.random_seed =
      member_id_ ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  auto node = raft::RawNode::Create(raft_config);
  if (!node.ok()) return node.status();
  node_ = std::move(*node);
  return base::Status::Ok();
}

void EtcdServer::StartThreads() {
  read_pool_ = std::make_unique<boost::asio::thread_pool>(2);
  // A lone voter need not wait out an election timeout to lead (etcd's
  // --initial-election-tick-advance has the same purpose).
  auto conf = node_->GetConfState();
  if (config_.initial_election_tick_advance && conf.voters_size() == 1 &&
      conf.voters(0) == member_id_) {
    node_->Campaign();
  }
  raft_thread_ = std::thread([this] { RaftLoop(); });
  publish_thread_ = std::thread([this] { Publish(); });
  compactor_thread_ = std::thread([this] { Compactor(); });
  corrupt_checker_thread_ = std::thread([this] { CorruptChecker(); });
}

EtcdServer::~EtcdServer() { Stop(); }

void EtcdServer::Stop() {
  if (stopping_.exchange(true)) return;
  raft_cv_.notify_all();
  apply_cv_.notify_all();
  if (publish_thread_.joinable()) publish_thread_.join();
  {
    std::lock_guard lock(compactor_mu_);  // the compactor checks stopping_ under it
  }
  compactor_cv_.notify_all();
  if (compactor_thread_.joinable()) compactor_thread_.join();
  if (corrupt_checker_thread_.joinable()) corrupt_checker_thread_.join();
  if (transport_) transport_->Stop();
  if (raft_thread_.joinable()) raft_thread_.join();
  if (apply_thread_.joinable()) apply_thread_.join();
  if (read_pool_) read_pool_->join();
  // Reads that never got their turn are answered too; the threads that held them are gone.
  std::vector<ReadBatch> unanswered = {std::move(reads_waiting_), std::move(reads_unsent_)};
  for (auto& [context, round] : reads_in_round_) unanswered.push_back(std::move(round.reads));
  for (auto& [index, batch] : reads_at_index_) unanswered.push_back(std::move(batch));
  for (auto& batch : unanswered) {
    for (auto& read : batch) read.fail(base::Status(base::Code::kUnavailable, "etcdserver: server stopped"));
  }
  // Whatever was proposed and not applied is answered: the client must not hang.
  std::map<uint64_t, Waiter> waiters;
  {
    std::lock_guard lock(waiters_mu_);
    waiters.swap(waiters_);
    waiter_deadlines_.clear();
  }
  for (auto& [id, waiter] : waiters) {
    metrics_.proposals_pending.Decrement();
    metrics_.proposals_failed.Increment();
    waiter.done(base::Status(base::Code::kUnavailable, "etcdserver: server stopped"));
  }
  base::Log(base::LogLevel::kInfo, "stopped member", {{"member-id", IdHex(member_id_)}});
}

void EtcdServer::FillHeader(etcdserverpb::ResponseHeader* header) const {
  header->set_cluster_id(cluster_id_);
  header->set_member_id(member_id_);
  header->set_raft_term(term_.load());
  if (header->revision() == 0) header->set_revision(store_->Rev());
}

etcdserverpb::ResponseHeader EtcdServer::Header() const {
  etcdserverpb::ResponseHeader header;
  FillHeader(&header);
  return header;
}

etcdserverpb::StatusResponse EtcdServer::Status() const {
  etcdserverpb::StatusResponse status;
  FillHeader(status.mutable_header());
  status.set_version(kEtcdVersion);
  status.set_dbsize(backend_->SizeBytes());
  status.set_dbsizeinuse(backend_->SizeInUseBytes().ok() ? *backend_->SizeInUseBytes() : 0);
  status.set_leader(leader_.load());
  status.set_raftindex(commit_index_.load());
  status.set_raftterm(term_.load());
  status.set_raftappliedindex(applied_index_.load());
  status.set_dbsizequota(config_.BackendQuotaBytes());
  return status;
}

std::string EtcdServer::MetricsText() {
  metrics_.db_total_size_bytes.Set(backend_->SizeBytes());
  if (auto size = backend_->SizeInUseBytes(); size.ok()) {
    metrics_.db_total_size_in_use_bytes.Set(*size);
  }
  return metrics_.Serve();
}

std::vector<serverpb::Member> EtcdServer::Members() const {
  std::lock_guard lock(members_mu_);
  return members_;
}

}  // namespace etcpp::server
