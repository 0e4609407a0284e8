// Membership: the Cluster API and MoveLeader, how membership changes are applied (apply
// loop), the wiring of the peer transport, the installation of a snapshot received from
// the leader, and the publication of this member's name and client URLs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <future>

#include "base/log.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

namespace fs = std::filesystem;

namespace {

base::Status Error(base::Code code, const char* message) { return base::Status(code, message); }

base::Status NotLeaderError() { return Error(base::Code::kFailedPrecondition, "etcdserver: not leader"); }

base::Status NotFound() { return Error(base::Code::kNotFound, "etcdserver: member not found"); }

int Voters(const std::vector<serverpb::Member>& members) {
  return static_cast<int>(std::count_if(members.begin(), members.end(),
                                        [](const serverpb::Member& m) { return !m.is_learner(); }));
}

base::Status NotEnoughStarted(const char* what) {
  base::Log(base::LogLevel::kWarn, std::string("rejecting member ") + what + " request; not enough healthy members");
  return Error(base::Code::kFailedPrecondition,
               "etcdserver: re-configuration failed due to not enough started members");
}

base::Status Unhealthy(const char* what) {
  base::Log(base::LogLevel::kWarn,
            std::string("rejecting member ") + what +
                " request; local member has not been connected to all peers, reconfigure breaks active quorum");
  return Error(base::Code::kUnavailable, "etcdserver: unhealthy cluster");
}

bool SharesPeerUrl(const serverpb::Member& a, const serverpb::Member& b) {
  for (const auto& url : a.peer_urls()) {
    if (std::find(b.peer_urls().begin(), b.peer_urls().end(), url) != b.peer_urls().end()) {
      return true;
    }
  }
  return false;
}

// Answers a membership change with the members after it, the header filled, and
// whatever `fill` adds.
template <typename Response>
std::function<void(base::Result<ApplyResult>)> WithMembers(const EtcdServer* server, Done<Response> done,
                                                           std::function<void(Response&)> fill = nullptr) {
  return [server, done = std::move(done), fill = std::move(fill)](base::Result<ApplyResult> result) {
    if (!result.ok()) return done(result.status());
    Response response;
    *response.mutable_header() = server->Header();
    *response.mutable_members() =
        std::move(*std::get<etcdserverpb::MemberListResponse>(result.value()).mutable_members());
    if (fill) fill(response);
    done(std::move(response));
  };
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Transport wiring (bootstrap thread, then any).

transport::PeerTls EtcdServer::PeerTls() const {
  const TransportSecurity& peer = config_.peer_security;
  return {peer.trusted_ca_file, peer.cert_file, peer.key_file, peer.auto_tls && peer.cert_file.empty()};
}

void EtcdServer::StartTransport(const std::string& snap_dir) {
  snap_dir_ = snap_dir;
  transport::Handler handler;
  handler.receive = [this](std::vector<raftpb::Message> messages) {
    {
      std::lock_guard lock(raft_mu_);
      for (auto& m : messages) messages_in_.push_back(std::move(m));
    }
    raft_cv_.notify_one();
  };
  handler.receive_snapshot = [this](raftpb::Message message, const std::string&) {
    {
      std::lock_guard lock(raft_mu_);
      messages_in_.push_back(std::move(message));
    }
    raft_cv_.notify_one();
  };
  handler.unreachable = [this](uint64_t id) {
    {
      std::lock_guard lock(raft_mu_);
      unreachable_.push_back(id);
    }
    raft_cv_.notify_one();
  };
  handler.snapshot_status = [this](uint64_t id, bool ok) {
    {
      std::lock_guard lock(raft_mu_);
      snapshot_reports_.emplace_back(id, ok);
    }
    raft_cv_.notify_one();
  };
  handler.copy_backend = [this](const std::string& path) { return backend_->CopyTo(path); };
  handler.cluster_info = [this] {
    peerpb::ClusterInfo info;
    info.set_cluster_id(cluster_id_);
    for (auto& m : Members()) *info.add_members() = std::move(m);
    return info;
  };
  handler.learner_ready = [this](uint64_t id) {
    peerpb::LearnerReadyResponse answer;
    answer.set_is_leader(leader_.load() == member_id_);
    answer.set_ready(answer.is_leader() && LearnerReady(id));
    return answer;
  };
  // A follower's forwarded lease calls: answered only while this member leads, never
  // forwarded again (two members with stale views must not bounce a call).
  handler.lease_keep_alive = [this](const etcdserverpb::LeaseKeepAliveRequest& request) {
    std::promise<base::Result<etcdserverpb::LeaseKeepAliveResponse>> answer;
    if (leader_.load() != member_id_) return base::Result<etcdserverpb::LeaseKeepAliveResponse>(NotLeaderError());
    LeaseKeepAlive(request, [&answer](auto result) { answer.set_value(std::move(result)); });
    return answer.get_future().get();
  };
  handler.lease_time_to_live = [this](const etcdserverpb::LeaseTimeToLiveRequest& request) {
    std::promise<base::Result<etcdserverpb::LeaseTimeToLiveResponse>> answer;
    if (leader_.load() != member_id_) return base::Result<etcdserverpb::LeaseTimeToLiveResponse>(NotLeaderError());
    LeaseTimeToLive(request, [&answer](auto result) { answer.set_value(std::move(result)); });
    return answer.get_future().get();
  };
  handler.hash_kv = [this](int64_t revision) { return HashKVNow(revision); };
  handler.is_removed = [this](uint64_t id) {
    std::lock_guard lock(members_mu_);
    return removed_.count(id) > 0;
  };
  handler.removed = [this] { StopRemoved(); };
  handler.round_trip = [this](uint64_t id, double seconds) {
    metrics_.PeerRoundTrip(IdHex(id), seconds);
  };
  transport_ = std::make_unique<transport::Transport>(cluster_id_, member_id_, snap_dir, handler, PeerTls());
  SyncPeers();
}

// etcd's health interval: a peer counts as connected once its stream has been up this long.
constexpr auto kHealthInterval = std::chrono::seconds(5);

int EtcdServer::ConnectedVoters(const std::vector<serverpb::Member>& members) {
  auto since = std::chrono::steady_clock::now() - kHealthInterval;
  int connected = 0;
  for (const auto& m : members) {
    if (m.is_learner()) continue;
    auto active = m.id() == member_id_ ? since : transport_->ActiveSince(m.id());
    if (active != std::chrono::steady_clock::time_point() && active <= since) ++connected;
  }
  return connected;
}

void EtcdServer::SyncPeers() {
  std::map<uint64_t, std::vector<std::string>> peers;
  for (const auto& m : Members()) {
    peers[m.id()] = std::vector<std::string>(m.peer_urls().begin(), m.peer_urls().end());
  }
  transport_->SetPeers(peers);
}

// ---------------------------------------------------------------------------------------
// Applying membership changes (apply loop).

raftpb::ConfState EtcdServer::ConfStateLocked() const {
  raftpb::ConfState conf;
  for (const auto& m : members_) {
    if (m.is_learner()) {
      conf.add_learners(m.id());
    } else {
      conf.add_voters(m.id());
    }
  }
  return conf;
}

// etcd's checks, on every member at apply time so that all reach the same verdict.
base::Status EtcdServer::ValidateConfChange(const raftpb::ConfChange& change,
                                            const serverpb::Member& member) {
  std::lock_guard lock(members_mu_);
  if (removed_.count(change.node_id())) return NotFound();
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const serverpb::Member& m) { return m.id() == change.node_id(); });
  const bool exists = it != members_.end();
  switch (change.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      // Adding a voter that is a learner promotes it.
      if (exists && (change.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE || !it->is_learner())) {
        return Error(base::Code::kFailedPrecondition, "etcdserver: member ID already exist");
      }
      break;
    case raftpb::CONF_CHANGE_REMOVE_NODE:
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      if (!exists) return NotFound();
      break;
    default:
      return Error(base::Code::kInvalidArgument, "etcdserver: unknown membership change");
  }
  // A new member's or an updated member's URLs must not be another member's.
  if ((change.type() != raftpb::CONF_CHANGE_REMOVE_NODE && !exists) ||
      change.type() == raftpb::CONF_CHANGE_UPDATE_NODE) {
    for (const auto& m : members_) {
      if (m.id() != change.node_id() && SharesPeerUrl(m, member)) {
        return Error(base::Code::kFailedPrecondition, "etcdserver: Peer URLs already exists");
      }
    }
  }
  return base::Status::Ok();
}

void EtcdServer::SaveMember(const serverpb::Member& member) {
  base::Status status =
      backend_->Put(backend::Bucket::kMembers, MemberKey(member.id()), member.SerializeAsString());
  ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
}

void EtcdServer::ApplyConfChange(const raftpb::Entry& entry) {
  raftpb::ConfChange change;
  ETCPP_ASSERT_MSG(change.ParseFromString(entry.data()), "unparsable membership change in the raft log");
  serverpb::Member member;
  if (!change.context().empty()) {
    ETCPP_ASSERT_MSG(member.ParseFromString(change.context()), "unparsable member in the raft log");
  }
  base::Status error = ValidateConfChange(change, member);
  bool removed_self = false;
  if (error.ok()) {
    {
      std::lock_guard lock(members_mu_);
      auto it = std::find_if(members_.begin(), members_.end(),
                             [&](const serverpb::Member& m) { return m.id() == change.node_id(); });
      switch (change.type()) {
        case raftpb::CONF_CHANGE_ADD_NODE:
        case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
          if (it != members_.end()) {
            it->set_is_learner(false);  // promoted
            SaveMember(*it);
          } else {
            member.set_id(change.node_id());
            member.set_is_learner(change.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
            members_.push_back(member);
            SaveMember(member);
          }
          break;
        case raftpb::CONF_CHANGE_REMOVE_NODE: {
          members_.erase(it);
          removed_.insert(change.node_id());
          base::Status status = backend_->Delete(backend::Bucket::kMembers, MemberKey(change.node_id()));
          if (status.ok()) status = backend_->Put(backend::Bucket::kMembers, RemovedMemberKey(change.node_id()), "");
          ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
          removed_self = change.node_id() == member_id_;
          break;
        }
        case raftpb::CONF_CHANGE_UPDATE_NODE:
          *it->mutable_peer_urls() = member.peer_urls();
          SaveMember(*it);
          break;
        default:
          break;
      }
    }
    {
      std::lock_guard lock(raft_mu_);
      conf_changes_applied_.push_back(change);
    }
    raft_cv_.notify_one();
    SyncPeers();
    base::Log(base::LogLevel::kInfo, "applied a membership change",
              {{"type", raftpb::ConfChangeType_Name(change.type())},
               {"member-id", IdHex(change.node_id())},
               {"raft-index", entry.index()}});
  }
  if (auto done = TakeWaiter(change.id())) {
    if (error.ok()) {
      etcdserverpb::MemberListResponse response;
      for (const auto& m : Members()) *response.add_members() = MemberToWire(m);
      done(ApplyResult(std::move(response)));
    } else {
      done(error);
    }
  }
  if (removed_self) StopRemoved();
}

void EtcdServer::StopRemoved() {
  static std::atomic<bool> stopping{false};
  if (stopping.exchange(true)) return;
  // As etcd, a removed member stops; the signal takes the process's orderly way out.
  base::Log(base::LogLevel::kWarn, "the member has been permanently removed from the cluster",
            {{"member-id", IdHex(member_id_)}});
  ::kill(::getpid(), SIGTERM);
}

void EtcdServer::ApplyMemberAttributes(const serverpb::MemberAttributes& attributes) {
  std::lock_guard lock(members_mu_);
  for (auto& m : members_) {
    if (m.id() != attributes.id()) continue;
    m.set_name(attributes.name());
    *m.mutable_client_urls() = attributes.client_urls();
    SaveMember(m);
  }
}

void EtcdServer::InstallSnapshot(uint64_t index) {
  std::string db = transport::SnapshotDbPath(snap_dir_, index);
  // Raft accepted the snapshot only after the transport wrote its file; without it (or
  // with a file we cannot open) this member cannot go on.
  base::Status status = store_->ReplaceBackend(db);
  ETCPP_ASSERT_MSG(status.ok(), ("installing snapshot " + db + ": " + status.ToString()).c_str());
  watchable_->Resync();
  ETCPP_ASSERT_MSG(backend_->ConsistentIndex() >= index, "a snapshot's backend behind its index");
  applied_index_ = backend_->ConsistentIndex();
  snapshot_index_ = index;
  // The leader's file may be ahead of this member's WAL (it applied more since the
  // snapshot); the mark tells a restart that this is why, not a lost WAL.
  status = backend_->Put(backend::Bucket::kMeta, kInstalledIndexKey, std::to_string(applied_index_.load()));
  if (status.ok()) status = backend_->Commit();
  ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
  status = LoadMembers(false);
  if (status.ok()) status = LoadAlarms();
  if (status.ok()) status = OpenLessor();
  ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
  SyncPeers();
  // Files of snapshots raft turned down (older than this one) are of no further use.
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(snap_dir_, ec)) {
    std::string name = file.path().filename().string();
    if (name.size() > 8 && name.ends_with(".snap.db") && name < fs::path(db).filename().string()) {
      fs::remove(file.path(), ec);
    }
  }
  base::Log(base::LogLevel::kInfo, "applied snapshot",
            {{"snapshot-index", index}, {"applied-index", applied_index_.load()},
             {"revision", store_->Rev()}});
}

// ---------------------------------------------------------------------------------------
// Publishing this member's attributes (its own thread).

void EtcdServer::Publish() {
  serverpb::InternalRequest request;
  auto* attributes = request.mutable_member_attributes();
  attributes->set_id(member_id_);
  attributes->set_name(config_.name);
  for (const auto& url : config_.advertise_client_urls) attributes->add_client_urls(url);
  while (!stopping_.load()) {
    auto published = std::make_shared<std::promise<bool>>();
    Propose(request, [published](base::Result<ApplyResult> result) {
      published->set_value(result.ok());
    });
    auto answer = published->get_future();
    // A proposal made before there was a leader is dropped; its waiter would answer only
    // after the request timeout, so ask again after an election timeout (applying the
    // same attributes twice changes nothing). Stop() answers waiters only after this
    // thread is joined, hence the polling.
    auto retry = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.election_timeout_ms);
    while (!stopping_.load() && std::chrono::steady_clock::now() < retry &&
           answer.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    }
    if (stopping_.load()) return;
    if (answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready && answer.get()) {
      base::Log(base::LogLevel::kInfo, "published local member to cluster through raft",
                {{"local-member-id", IdHex(member_id_)}, {"cluster-id", IdHex(cluster_id_)}});
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The Cluster API.

etcdserverpb::Member EtcdServer::MemberToWire(const serverpb::Member& m) const {
  etcdserverpb::Member out;
  out.set_id(m.id());
  out.set_name(m.name());
  *out.mutable_peerurls() = m.peer_urls();
  *out.mutable_clienturls() = m.client_urls();
  out.set_islearner(m.is_learner());
  return out;
}

void EtcdServer::MemberAdd(etcdserverpb::MemberAddRequest request,
                           Done<etcdserverpb::MemberAddResponse> done) {
  serverpb::Member member;
  for (const auto& url : request.peerurls()) {
    if (!transport::GrpcTarget(url).ok()) {
      return done(Error(base::Code::kInvalidArgument, "etcdserver: given member URLs are invalid"));
    }
    member.add_peer_urls(url);
  }
  if (member.peer_urls_size() == 0) {
    return done(Error(base::Code::kInvalidArgument, "etcdserver: given member URLs are invalid"));
  }
  member.set_is_learner(request.islearner());
  if (config_.strict_reconfig_check) {
    auto members = Members();
    if (!member.is_learner() && !ReadyToAddVoter(members)) return done(NotEnoughStarted("add"));
    if (ConnectedVoters(members) != Voters(members)) return done(Unhealthy("add"));
  }
  std::vector<std::string> urls(member.peer_urls().begin(), member.peer_urls().end());
  member.set_id(ComputeMemberId(urls, config_.initial_cluster_token, std::time(nullptr)));
  {
    std::lock_guard lock(members_mu_);
    for (const auto& m : members_) {
      if (SharesPeerUrl(m, member)) {
        return done(Error(base::Code::kFailedPrecondition, "etcdserver: Peer URLs already exists"));
      }
      // etcd allows one learner at a time.
      if (member.is_learner() && m.is_learner()) {
        return done(Error(base::Code::kFailedPrecondition,
                          "etcdserver: too many learner members in cluster"));
      }
    }
  }
  raftpb::ConfChange change;
  change.set_type(member.is_learner() ? raftpb::CONF_CHANGE_ADD_LEARNER_NODE
                                      : raftpb::CONF_CHANGE_ADD_NODE);
  change.set_node_id(member.id());
  change.set_context(member.SerializeAsString());
  etcdserverpb::Member wire = MemberToWire(member);
  ProposeConfChange(std::move(change),
                    WithMembers<etcdserverpb::MemberAddResponse>(
                        this, std::move(done),
                        [wire](etcdserverpb::MemberAddResponse& r) { *r.mutable_member() = wire; }));
}

void EtcdServer::MemberRemove(uint64_t id, Done<etcdserverpb::MemberRemoveResponse> done) {
  auto members = Members();
  auto target = std::find_if(members.begin(), members.end(),
                             [id](const serverpb::Member& m) { return m.id() == id; });
  if (target == members.end()) return done(NotFound());
  if (config_.strict_reconfig_check && !target->is_learner()) {
    if (!ReadyToRemoveVoter(members, id)) return done(NotEnoughStarted("remove"));
    // A member that is down is not part of the quorum that serves; removing it is safe.
    bool down = id != member_id_ && transport_->ActiveSince(id) == std::chrono::steady_clock::time_point();
    if (!down && ConnectedVoters(members) - 1 < 1 + (Voters(members) - 1) / 2) return done(Unhealthy("remove"));
  }
  raftpb::ConfChange change;
  change.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
  change.set_node_id(id);
  ProposeConfChange(std::move(change), WithMembers(this, std::move(done)));
}

void EtcdServer::MemberUpdate(etcdserverpb::MemberUpdateRequest request,
                              Done<etcdserverpb::MemberUpdateResponse> done) {
  serverpb::Member member;
  member.set_id(request.id());
  for (const auto& url : request.peerurls()) {
    if (!transport::GrpcTarget(url).ok()) {
      return done(Error(base::Code::kInvalidArgument, "etcdserver: given member URLs are invalid"));
    }
    member.add_peer_urls(url);
  }
  raftpb::ConfChange change;
  change.set_type(raftpb::CONF_CHANGE_UPDATE_NODE);
  change.set_node_id(request.id());
  change.set_context(member.SerializeAsString());
  ProposeConfChange(std::move(change), WithMembers(this, std::move(done)));
}

void EtcdServer::MemberPromote(uint64_t id, Done<etcdserverpb::MemberPromoteResponse> done) {
  std::optional<serverpb::Member> member;
  for (auto& m : Members()) {
    if (m.id() == id) member = std::move(m);
  }
  if (!member) return done(NotFound());
  if (!member->is_learner()) {
    return done(Error(base::Code::kFailedPrecondition, "etcdserver: can only promote a learner member"));
  }
  // Only the leader knows how far the learner got; a follower asks it.
  uint64_t leader = leader_.load();
  bool ready = false;
  if (leader == member_id_) {
    ready = LearnerReady(id);
  } else if (leader != 0) {
    auto answer = transport_->AskLearnerReady(leader, id);
    if (!answer.ok() || !answer->is_leader()) return done(TimedOut());
    ready = answer->ready();
  } else {
    return done(TimedOut());
  }
  if (!ready) {
    return done(Error(base::Code::kFailedPrecondition,
                      "etcdserver: can only promote a learner member which is in sync with leader"));
  }
  if (config_.strict_reconfig_check && !ReadyToPromote(Members())) return done(NotEnoughStarted("promote"));
  raftpb::ConfChange change;
  change.set_type(raftpb::CONF_CHANGE_ADD_NODE);
  change.set_node_id(id);
  change.set_context(member->SerializeAsString());
  ProposeConfChange(std::move(change), WithMembers(this, std::move(done)));
}

// etcd's rule: the learner has at least 90% of the leader's log.
bool EtcdServer::LearnerReady(uint64_t id) const {
  std::lock_guard lock(progress_mu_);
  auto learner = progress_match_.find(id), self = progress_match_.find(member_id_);
  if (learner == progress_match_.end() || self == progress_match_.end()) return false;
  return static_cast<double>(learner->second) >= 0.9 * static_cast<double>(self->second);
}

void EtcdServer::MemberList(bool linearizable, Done<etcdserverpb::MemberListResponse> done) {
  auto reply = std::make_shared<Done<etcdserverpb::MemberListResponse>>(std::move(done));
  auto list = [this, reply] {
    etcdserverpb::MemberListResponse response;
    FillHeader(response.mutable_header());
    for (const auto& m : Members()) *response.add_members() = MemberToWire(m);
    (*reply)(std::move(response));
  };
  if (!linearizable) return list();
  LinearizableRead(std::move(list), [reply](base::Status status) { (*reply)(status); });
}

void EtcdServer::MoveLeader(uint64_t target, Done<etcdserverpb::MoveLeaderResponse> done) {
  if (leader_.load() != member_id_) {
    return done(Error(base::Code::kFailedPrecondition, "etcdserver: not leader"));
  }
  bool voter = false;
  for (const auto& m : Members()) voter = voter || (m.id() == target && !m.is_learner());
  if (!voter || target == member_id_) {
    return done(Error(base::Code::kFailedPrecondition, "etcdserver: bad leader transferee"));
  }
  {
    std::lock_guard lock(raft_mu_);
    if (transfer_wanted_) {
      transfer_wanted_->done(Error(base::Code::kUnavailable, "etcdserver: leader changed"));
    }
    transfer_wanted_ = Transfer{target,
                                std::chrono::steady_clock::now() +
                                    std::chrono::milliseconds(config_.election_timeout_ms * 5),
                                std::move(done)};
  }
  raft_cv_.notify_one();
}

}  // namespace etcpp::server
