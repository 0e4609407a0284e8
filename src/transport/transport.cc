#include "transport/transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/grpc_tls.h"
#include "base/log.h"

namespace etcpp::transport {

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kClusterIdKey[] = "etcpp-cluster-id";
constexpr char kMemberIdKey[] = "etcpp-member-id";
// What members answer one that the cluster removed (etcd's peers answer 410 Gone).
constexpr char kRemovedMember[] = "the member has been permanently removed from the cluster";
// A peer that is down or partitioned keeps at most this many messages queued; raft
// resends what matters (heartbeats, probes), so older ones are not worth more memory.
constexpr size_t kMaxQueuedMessages = 4096;
constexpr size_t kSnapshotChunkBytes = 1 << 20;
constexpr auto kProbeInterval = std::chrono::seconds(5);
// How often a peer without a stream is tried again when nothing needs sending.
constexpr auto kReconnectInterval = std::chrono::seconds(1);

// gRPC takes deadlines on the system clock only.
std::chrono::system_clock::time_point Deadline(std::chrono::milliseconds from_now) {
  return std::chrono::system_clock::now() + from_now;
}

std::string Hex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

uint64_t ParseHex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

std::unique_ptr<grpc::ClientContext> PeerContext(uint64_t cluster_id, uint64_t member_id) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata(kClusterIdKey, Hex(cluster_id));
  context->AddMetadata(kMemberIdKey, Hex(member_id));
  return context;
}

std::string ReadPem(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  // The listener has read the same files at start, so this is rare; the handshake
  // failures that follow say the rest.
  if (!in) base::Log(base::LogLevel::kWarn, "cannot read peer TLS file", {{"path", path}});
  return out.str();
}

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const PeerTls& tls) {
  return base::TlsChannelCredentials(ReadPem(tls.trusted_ca_file), ReadPem(tls.cert_file), ReadPem(tls.key_file),
                                     tls.skip_verify);
}

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const std::string& url,
                                                         const std::shared_ptr<grpc::ChannelCredentials>& tls) {
  return url.rfind("https://", 0) == 0 ? tls : grpc::InsecureChannelCredentials();
}

// A channel to `url` that is connected within `timeout`, or null.
std::shared_ptr<grpc::Channel> Connect(const std::string& url, std::chrono::milliseconds timeout,
                                       const std::shared_ptr<grpc::ChannelCredentials>& tls) {
  auto target = GrpcTarget(url);
  if (!target.ok()) return nullptr;
  grpc::ChannelArguments args;
  // Peers reconnect on their own schedule (the sender's backoff), not gRPC's, which
  // grows to minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(*target, CredentialsFor(url, tls), args);
  if (!channel->WaitForConnected(Deadline(timeout))) return nullptr;
  return channel;
}

base::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return base::Status(base::Code::kIoError, "open " + dir);
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? base::Status::Ok() : base::Status(base::Code::kIoError, "fsync " + dir);
}

}  // namespace

std::string SnapshotDbPath(const std::string& snap_dir, uint64_t index) {
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.snap.db", static_cast<unsigned long long>(index));
  return snap_dir + "/" + name;
}

base::Result<std::string> GrpcTarget(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return base::Status(base::Code::kInvalidArgument, "invalid peer URL " + url);
  }
  std::string rest = url.substr(scheme + 3);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (rest.empty() || rest.rfind(':') == std::string::npos) {
    return base::Status(base::Code::kInvalidArgument, "invalid peer URL " + url);
  }
  return rest;
}

// ---------------------------------------------------------------------------------------
// Sending: one thread and one stream per peer.

class Transport::Peer {
 public:
  Peer(Transport* transport, uint64_t id, std::vector<std::string> urls)
      : transport_(transport), id_(id), urls_(std::move(urls)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Peer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      // A Write blocked on a peer that stopped reading (paused, partitioned) ends here.
      if (context_) context_->TryCancel();
    }
    cv_.notify_all();
    thread_.join();
  }

  void SetUrls(std::vector<std::string> urls) {
    std::lock_guard lock(mu_);
    if (urls != urls_) call_channel_.reset();
    urls_ = std::move(urls);
  }
  std::vector<std::string> urls() {
    std::lock_guard lock(mu_);
    return urls_;
  }
  Clock::time_point active_since() {
    std::lock_guard lock(mu_);
    return active_since_;
  }

  // A channel for occasional calls (not the stream's), made on first use.
  std::shared_ptr<grpc::Channel> CallChannel() {
    std::lock_guard lock(mu_);
    if (!call_channel_ && !urls_.empty()) {
      auto target = GrpcTarget(urls_.front());
      if (target.ok()) {
        call_channel_ = grpc::CreateChannel(*target, CredentialsFor(urls_.front(), transport_->tls_credentials_));
      }
    }
    return call_channel_;
  }

  void Enqueue(raftpb::Message message) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= kMaxQueuedMessages) {
        dropped_ = true;
        return;
      }
      queue_.push_back(std::move(message));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_ptr<peerpb::Peer::Stub> stub;
    std::unique_ptr<grpc::ClientWriter<peerpb::MessageBatch>> writer;
    peerpb::Empty reply;
    auto next_probe = Clock::now();  // the first round opens the stream
    while (true) {
      peerpb::MessageBatch batch;
      bool dropped = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, next_probe, [this] { return stop_ || !queue_.empty(); });
        if (stop_) break;
        batch.mutable_messages()->Reserve(static_cast<int>(queue_.size()));
        for (auto& m : queue_) *batch.add_messages() = std::move(m);
        queue_.clear();
        std::swap(dropped, dropped_);
      }
      if (dropped) transport_->handler_.unreachable(id_);
      if (Clock::now() >= next_probe) {
        next_probe = Clock::now() + kProbeInterval;
        // The stream is opened before there is anything to say, so that this member
        // knows which peers it reaches (etcd's reconfiguration checks ask) even when
        // raft sends them nothing, as between two followers.
        if (!writer) {
          if (!Open(&stub, &writer, &reply)) next_probe = Clock::now() + kReconnectInterval;
        } else {
          SetActive(Probe(*stub));
        }
      }
      if (batch.messages_size() == 0) continue;
      if (!writer && !Open(&stub, &writer, &reply)) {
        // Down or refusing: the batch is lost; raft resends after it hears of it.
        transport_->handler_.unreachable(id_);
        Backoff();
        continue;
      }
      if (!writer->Write(batch)) {
        Close(&writer);
        transport_->handler_.unreachable(id_);
        Backoff();
      }
    }
    if (writer) Close(&writer);
  }

  bool Open(std::unique_ptr<peerpb::Peer::Stub>* stub,
            std::unique_ptr<grpc::ClientWriter<peerpb::MessageBatch>>* writer,
            peerpb::Empty* reply) {
    std::vector<std::string> urls = this->urls();
    if (urls.empty()) return false;
    const std::string& url = urls[attempt_++ % urls.size()];
    auto channel = Connect(url, std::chrono::milliseconds(500), transport_->tls_credentials_);
    if (!channel) return false;
    *stub = peerpb::Peer::NewStub(channel);
    auto context = PeerContext(transport_->cluster_id_, transport_->member_id_);
    {
      std::lock_guard lock(mu_);
      if (stop_) return false;
      context_ = std::move(context);
      *writer = (*stub)->Stream(context_.get(), reply);
    }
    SetActive(true);
    base::Log(base::LogLevel::kInfo, "peer stream opened",
              {{"local-member-id", Hex(transport_->member_id_)}, {"remote-peer-id", Hex(id_)},
               {"url", url}});
    return true;
  }

  void Close(std::unique_ptr<grpc::ClientWriter<peerpb::MessageBatch>>* writer) {
    (*writer)->WritesDone();
    grpc::Status status = (*writer)->Finish();
    writer->reset();
    {
      std::lock_guard lock(mu_);
      context_.reset();
    }
    SetActive(false);
    // A member that missed its own removal (it was behind when it was committed) learns
    // of it here, from the peers that refuse it.
    if (status.error_message() == kRemovedMember && transport_->handler_.removed) transport_->handler_.removed();
    base::Log(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ? base::LogLevel::kError
                                                                           : base::LogLevel::kWarn,
              "peer stream closed",
              {{"local-member-id", Hex(transport_->member_id_)}, {"remote-peer-id", Hex(id_)},
               {"error", status.error_message()}});
  }

  // Whether the peer answered within a second.
  bool Probe(peerpb::Peer::Stub& stub) {
    auto context = PeerContext(transport_->cluster_id_, transport_->member_id_);
    context->set_deadline(Deadline(std::chrono::seconds(1)));
    peerpb::Empty request, reply;
    auto start = Clock::now();
    if (!stub.Ping(context.get(), request, &reply).ok()) return false;
    if (transport_->handler_.round_trip) {
      transport_->handler_.round_trip(id_, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return true;
  }

  void SetActive(bool up) {
    {
      std::lock_guard lock(mu_);
      if (up == (active_since_ != Clock::time_point())) return;
      active_since_ = up ? Clock::now() : Clock::time_point();
    }
    base::Log(up ? base::LogLevel::kInfo : base::LogLevel::kWarn, up ? "peer became active" : "peer became inactive",
              {{"local-member-id", Hex(transport_->member_id_)}, {"peer-id", Hex(id_)}});
  }

  void Backoff() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    queue_.clear();  // what queued while the peer was away is stale
  }

  Transport* const transport_;
  const uint64_t id_;
  size_t attempt_ = 0;  // sender thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> urls_;                 // guarded by mu_
  std::vector<raftpb::Message> queue_;            // guarded by mu_
  bool dropped_ = false;                          // guarded by mu_
  bool stop_ = false;                             // guarded by mu_
  std::unique_ptr<grpc::ClientContext> context_;  // guarded by mu_
  std::shared_ptr<grpc::Channel> call_channel_;   // guarded by mu_
  Clock::time_point active_since_;                // guarded by mu_; zero while down
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// Receiving.

class Transport::Service final : public peerpb::Peer::Service {
 public:
  explicit Service(Transport* transport) : transport_(transport) {}

  grpc::Status Stream(grpc::ServerContext* context, grpc::ServerReader<peerpb::MessageBatch>* reader,
                      peerpb::Empty*) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    peerpb::MessageBatch batch;
    while (reader->Read(&batch)) {
      // The sender may have been removed while its stream was open.
      if (batch.messages_size() > 0 && transport_->handler_.is_removed(batch.messages(0).from())) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, kRemovedMember);
      }
      std::vector<raftpb::Message> messages;
      messages.reserve(static_cast<size_t>(batch.messages_size()));
      for (auto& m : *batch.mutable_messages()) messages.push_back(std::move(m));
      transport_->handler_.receive(std::move(messages));
    }
    return grpc::Status::OK;
  }

  grpc::Status SendSnapshot(grpc::ServerContext* context,
                            grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                            peerpb::Empty*) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    peerpb::SnapshotChunk chunk;
    if (!reader->Read(&chunk) || chunk.message().type() != raftpb::MSG_SNAP) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "snapshot stream without MSG_SNAP");
    }
    raftpb::Message message = std::move(*chunk.mutable_message());
    std::string path =
        SnapshotDbPath(transport_->snap_dir_, message.snapshot().metadata().index());
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return grpc::Status(grpc::StatusCode::INTERNAL, "cannot create " + tmp);
    bool ok = true;
    size_t bytes = 0;
    do {
      const std::string& data = chunk.data();
      ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
      bytes += data.size();
    } while (ok && reader->Read(&chunk));
    ok = ok && ::fsync(fd) == 0;
    ::close(fd);
    ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0 && FsyncDir(transport_->snap_dir_).ok();
    if (!ok) {
      ::unlink(tmp.c_str());
      return grpc::Status(grpc::StatusCode::INTERNAL, "cannot write " + path);
    }
    base::Log(base::LogLevel::kInfo, "received database snapshot",
              {{"remote-peer-id", Hex(message.from())},
               {"snapshot-index", message.snapshot().metadata().index()},
               {"size-bytes", bytes}});
    transport_->handler_.receive_snapshot(std::move(message), path);
    return grpc::Status::OK;
  }

  grpc::Status Cluster(grpc::ServerContext* context, const peerpb::Empty*,
                       peerpb::ClusterInfo* reply) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    *reply = transport_->handler_.cluster_info();
    return grpc::Status::OK;
  }

  grpc::Status LearnerReady(grpc::ServerContext* context, const peerpb::LearnerReadyRequest* request,
                            peerpb::LearnerReadyResponse* reply) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    *reply = transport_->handler_.learner_ready(request->learner_id());
    return grpc::Status::OK;
  }

  grpc::Status LeaseKeepAlive(grpc::ServerContext* context, const etcdserverpb::LeaseKeepAliveRequest* request,
                              etcdserverpb::LeaseKeepAliveResponse* reply) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    return Answer(transport_->handler_.lease_keep_alive(*request), reply);
  }

  grpc::Status LeaseTimeToLive(grpc::ServerContext* context, const etcdserverpb::LeaseTimeToLiveRequest* request,
                               etcdserverpb::LeaseTimeToLiveResponse* reply) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    return Answer(transport_->handler_.lease_time_to_live(*request), reply);
  }

  grpc::Status Ping(grpc::ServerContext* context, const peerpb::Empty*, peerpb::Empty*) override {
    return Check(context);
  }

  grpc::Status HashKV(grpc::ServerContext* context, const etcdserverpb::HashKVRequest* request,
                      etcdserverpb::HashKVResponse* reply) override {
    if (auto refused = Check(context); !refused.ok()) return refused;
    return Answer(transport_->handler_.hash_kv(request->revision()), reply);
  }

 private:
  // The member's error travels as its message, which the forwarding member hands back to
  // its client as if it were its own.
  template <typename Response>
  static grpc::Status Answer(base::Result<Response> result, Response* reply) {
    if (!result.ok()) return grpc::Status(grpc::StatusCode::UNKNOWN, result.status().message());
    *reply = std::move(result.value());
    return grpc::Status::OK;
  }

  // A caller that does not know its cluster yet (a member about to join) says 0.
  grpc::Status Check(grpc::ServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto value = [&](const char* key) -> uint64_t {
      auto it = metadata.find(key);
      return it == metadata.end() ? 0 : ParseHex(std::string_view(it->second.data(), it->second.size()));
    };
    uint64_t remote_cluster = value(kClusterIdKey);
    if (remote_cluster == 0 || remote_cluster == transport_->cluster_id_) {
      uint64_t remote = value(kMemberIdKey);
      if (remote != 0 && transport_->handler_.is_removed && transport_->handler_.is_removed(remote)) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, kRemovedMember);
      }
      return grpc::Status::OK;
    }
    base::Log(base::LogLevel::kWarn, "request cluster ID mismatch",
              {{"local-member-id", Hex(transport_->member_id_)},
               {"local-member-cluster-id", Hex(transport_->cluster_id_)},
               {"remote-peer-id", Hex(value(kMemberIdKey))},
               {"remote-peer-cluster-id", Hex(remote_cluster)},
               {"peer", context->peer()}});
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "request cluster ID mismatch");
  }

  Transport* const transport_;
};

// ---------------------------------------------------------------------------------------

Transport::Transport(uint64_t cluster_id, uint64_t member_id, std::string snap_dir, Handler handler,
                     const PeerTls& tls)
    : cluster_id_(cluster_id),
      member_id_(member_id),
      snap_dir_(std::move(snap_dir)),
      handler_(std::move(handler)),
      tls_credentials_(TlsCredentials(tls)),
      service_(std::make_unique<Service>(this)) {}

Transport::~Transport() { Stop(); }

grpc::Service* Transport::service() { return service_.get(); }

void Transport::SetPeers(const std::map<uint64_t, std::vector<std::string>>& peers) {
  std::vector<std::unique_ptr<Peer>> gone;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    for (auto it = peers_.begin(); it != peers_.end();) {
      if (peers.count(it->first) == 0) {
        gone.push_back(std::move(it->second));
        it = peers_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, urls] : peers) {
      if (id == member_id_) continue;
      auto& peer = peers_[id];
      if (peer) {
        peer->SetUrls(urls);
      } else {
        peer = std::make_unique<Peer>(this, id, urls);
      }
    }
  }
  // Destroyed outside mu_: each joins its thread, which may be calling a handler.
}

void Transport::Send(std::vector<raftpb::Message> messages) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  for (auto& m : messages) {
    if (m.type() == raftpb::MSG_SNAP) {
      SendSnapshot(std::move(m));
      continue;
    }
    auto it = peers_.find(m.to());
    // A message to a member that was just removed, or not yet known, is dropped.
    if (it != peers_.end()) it->second->Enqueue(std::move(m));
  }
}

// Requires mu_.
void Transport::SendSnapshot(raftpb::Message message) {
  auto it = peers_.find(message.to());
  if (it == peers_.end()) {
    handler_.snapshot_status(message.to(), false);
    return;
  }
  std::vector<std::string> urls = it->second->urls();
  snapshot_senders_.emplace_back([this, message = std::move(message), urls] {
    uint64_t to = message.to();
    uint64_t index = message.snapshot().metadata().index();
    std::string path = snap_dir_ + "/send-" + Hex(to) + "-" + std::to_string(index) + ".tmp";
    auto fail = [&](const std::string& why) {
      ::unlink(path.c_str());
      base::Log(base::LogLevel::kWarn, "failed to send database snapshot",
                {{"remote-peer-id", Hex(to)}, {"snapshot-index", index}, {"error", why}});
      handler_.snapshot_status(to, false);
    };
    if (auto copied = handler_.copy_backend(path); !copied.ok()) return fail(copied.ToString());
    std::shared_ptr<grpc::Channel> channel;
    for (const auto& url : urls) {
      if ((channel = Connect(url, std::chrono::seconds(2), tls_credentials_))) break;
    }
    if (!channel) return fail("peer unreachable");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + path);
    auto stub = peerpb::Peer::NewStub(channel);
    auto context = PeerContext(cluster_id_, member_id_);
    // A peer that stops reading (paused) must not hold this thread, and Stop(), forever.
    context->set_deadline(Deadline(std::chrono::minutes(1)));
    peerpb::Empty reply;
    auto writer = stub->SendSnapshot(context.get(), &reply);
    peerpb::SnapshotChunk chunk;
    *chunk.mutable_message() = message;
    std::string buffer(kSnapshotChunkBytes, '\0');
    size_t sent = 0;
    bool ok = true;
    while (ok) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0) ok = false;
      if (n <= 0) break;
      chunk.set_data(buffer.data(), static_cast<size_t>(n));
      ok = writer->Write(chunk);
      chunk.clear_message();
      sent += static_cast<size_t>(n);
    }
    ::close(fd);
    if (ok) writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!ok || !status.ok()) return fail(status.ok() ? "write failed" : status.error_message());
    ::unlink(path.c_str());
    base::Log(base::LogLevel::kInfo, "sent database snapshot",
              {{"remote-peer-id", Hex(to)}, {"snapshot-index", index}, {"size-bytes", sent}});
    handler_.snapshot_status(to, true);
  });
}

void Transport::Stop() {
  std::map<uint64_t, std::unique_ptr<Peer>> peers;
  std::vector<std::thread> senders;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    peers.swap(peers_);
    senders.swap(snapshot_senders_);
  }
  peers.clear();
  for (auto& t : senders) t.join();
}

std::shared_ptr<grpc::Channel> Transport::PeerChannel(uint64_t to) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(to);
  return it == peers_.end() ? nullptr : it->second->CallChannel();
}

template <typename Request, typename Response, typename Start>
void Transport::Forward(uint64_t to, const Request& request,
                        std::function<void(base::Result<Response>)> done, Start start) {
  auto channel = PeerChannel(to);
  if (!channel) return done(base::Status(base::Code::kUnavailable, "etcdserver: no leader"));
  struct Call {
    std::unique_ptr<peerpb::Peer::Stub> stub;
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>();
  call->stub = peerpb::Peer::NewStub(channel);
  call->context = PeerContext(cluster_id_, member_id_);
  call->context->set_deadline(Deadline(std::chrono::seconds(5)));
  call->request = request;
  start(call->stub->async(), call->context.get(), &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          if (!status.ok()) return done(base::Status(base::Code::kUnavailable, status.error_message()));
          done(std::move(call->response));
        });
}

void Transport::ForwardLeaseKeepAlive(
    uint64_t to, const etcdserverpb::LeaseKeepAliveRequest& request,
    std::function<void(base::Result<etcdserverpb::LeaseKeepAliveResponse>)> done) {
  Forward(to, request, std::move(done), [](auto* async, auto* context, auto* req, auto* resp, auto callback) {
    async->LeaseKeepAlive(context, req, resp, std::move(callback));
  });
}

void Transport::ForwardLeaseTimeToLive(
    uint64_t to, const etcdserverpb::LeaseTimeToLiveRequest& request,
    std::function<void(base::Result<etcdserverpb::LeaseTimeToLiveResponse>)> done) {
  Forward(to, request, std::move(done), [](auto* async, auto* context, auto* req, auto* resp, auto callback) {
    async->LeaseTimeToLive(context, req, resp, std::move(callback));
  });
}

std::vector<std::pair<uint64_t, base::Result<etcdserverpb::HashKVResponse>>> Transport::PeerHashKVs(
    int64_t revision, std::chrono::milliseconds timeout) {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, peer] : peers_) ids.push_back(id);
  }
  std::vector<std::pair<uint64_t, base::Result<etcdserverpb::HashKVResponse>>> answers;
  for (uint64_t id : ids) {
    auto channel = PeerChannel(id);
    if (!channel) continue;  // removed meanwhile
    auto context = PeerContext(cluster_id_, member_id_);
    context->set_deadline(Deadline(timeout));
    etcdserverpb::HashKVRequest request;
    request.set_revision(revision);
    etcdserverpb::HashKVResponse reply;
    grpc::Status status = peerpb::Peer::NewStub(channel)->HashKV(context.get(), request, &reply);
    if (status.ok()) {
      answers.emplace_back(id, std::move(reply));
    } else {
      answers.emplace_back(id, base::Status(base::Code::kUnavailable, status.error_message()));
    }
  }
  return answers;
}

Clock::time_point Transport::ActiveSince(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? Clock::time_point() : it->second->active_since();
}

base::Result<peerpb::LearnerReadyResponse> Transport::AskLearnerReady(uint64_t to, uint64_t learner) {
  std::vector<std::string> urls;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(to);
    if (it != peers_.end()) urls = it->second->urls();
  }
  for (const auto& url : urls) {
    auto channel = Connect(url, std::chrono::seconds(1), tls_credentials_);
    if (!channel) continue;
    auto context = PeerContext(cluster_id_, member_id_);
    context->set_deadline(Deadline(std::chrono::seconds(2)));
    peerpb::LearnerReadyRequest request;
    request.set_learner_id(learner);
    peerpb::LearnerReadyResponse reply;
    if (peerpb::Peer::NewStub(channel)->LearnerReady(context.get(), request, &reply).ok()) return reply;
  }
  return base::Status(base::Code::kUnavailable, "leader unreachable");
}

base::Result<peerpb::ClusterInfo> Transport::FetchCluster(const std::vector<std::string>& peer_urls,
                                                          const PeerTls& tls) {
  auto credentials = TlsCredentials(tls);
  for (const auto& url : peer_urls) {
    auto channel = Connect(url, std::chrono::seconds(1), credentials);
    if (!channel) continue;
    auto context = PeerContext(0, 0);
    context->set_deadline(Deadline(std::chrono::seconds(2)));
    peerpb::Empty request;
    peerpb::ClusterInfo info;
    if (peerpb::Peer::NewStub(channel)->Cluster(context.get(), request, &info).ok()) return info;
  }
  return base::Status(base::Code::kUnavailable, "cannot fetch cluster info from peer urls");
}

}  // namespace etcpp::transport
