#include "client/client.h"


#include <fstream>
#include <sstream>

#include "base/grpc_tls.h"
#include "client/errors.h"

namespace etcpp::client {
namespace {

using base::Code;
using base::Result;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Status(Code::kIoError, "open " + path + ": no such file or directory");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "http://h:p" and "https://h:p" name the same gRPC target "h:p"; the scheme only says
// whether to use TLS, as in etcd's client.
std::string TargetOf(const std::string& endpoint) {
  for (const char* scheme : {"http://", "https://", "unix://", "unixs://"}) {
    const std::string s(scheme);
    if (endpoint.rfind(s, 0) == 0) return endpoint.substr(s.size());
  }
  return endpoint;
}

Result<std::shared_ptr<grpc::ChannelCredentials>> CredentialsFor(const Config& config,
                                                                 const std::string& endpoint) {
  const bool https = endpoint.rfind("https://", 0) == 0;
  if (!config.tls && !https) return grpc::InsecureChannelCredentials();
  const TlsConfig tls = config.tls.value_or(TlsConfig{});
  std::string ca, cert, key;
  if (!tls.ca_file.empty()) {
    auto r = ReadFile(tls.ca_file);
    if (!r.ok()) return r.status();
    ca = *r;
  }
  if (!tls.cert_file.empty()) {
    auto r = ReadFile(tls.cert_file);
    if (!r.ok()) return r.status();
    cert = *r;
  }
  if (!tls.key_file.empty()) {
    auto r = ReadFile(tls.key_file);
    if (!r.ok()) return r.status();
    key = *r;
  }
  return base::TlsChannelCredentials(ca, cert, key, tls.skip_verify);
}

std::unique_ptr<Endpoint> MakeEndpoint(const Config& config, const std::string& address,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  // Pings detect a dead member on an otherwise idle connection (a watch waiting for
  // events), so the stream breaks and resumes elsewhere instead of hanging. etcd's
  // server answers pings more frequent than --grpc-keepalive-min-time (5 s) or without
  // an active stream with GOAWAY "too_many_pings"; grpc-go (etcdctl) never pings more
  // often than every 10 s, and neither do we.
  const auto keepalive_time = std::max(config.keepalive_time, std::chrono::milliseconds(10000));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(config.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // A restarted member should be found within about a second, not gRPC's default of
  // up to two minutes of backoff: watches resume and failover comes back quickly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // etcd accepts requests up to --max-request-bytes (1.5 MiB by default) and may answer
  // with larger ranges; the Go client allows responses of any size.
  args.SetMaxReceiveMessageSize(-1);
  // Each Client gets connections of its own, as each Go client does: gRPC would
  // otherwise share one TCP connection among all channels with the same target and
  // arguments, and etcpp-bench's --conns would open one connection whatever it said.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, config.grpc_retries ? 1 : 0);
  // Nothing here serves channelz, and its per-call counters cost a few per cent of
  // etcpp-bench's CPU against a fast server.
  args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->address = address;
  endpoint->channel = grpc::CreateCustomChannel(TargetOf(address), credentials, args);
  endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
  endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
  endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
  endpoint->cluster = etcdserverpb::Cluster::NewStub(endpoint->channel);
  endpoint->maintenance = etcdserverpb::Maintenance::NewStub(endpoint->channel);
  endpoint->auth = etcdserverpb::Auth::NewStub(endpoint->channel);
  return endpoint;
}

// Waits until the channel is connected. Gives up early once a connection attempt has
// failed, so a dead endpoint costs one refused connect rather than the whole timeout.
bool WaitConnected(grpc::Channel& channel, Client::Clock::time_point until) {
  grpc_connectivity_state state = channel.GetState(true);
  bool attempted = false;
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && attempted) return false;
    if (state == GRPC_CHANNEL_CONNECTING) attempted = true;
    if (!channel.WaitForStateChange(state, until)) return false;
    state = channel.GetState(true);
  }
  return true;
}

}  // namespace

base::Status Config::Validate() const {
  if (endpoints.empty()) return base::Status(Code::kInvalidArgument, "no endpoints");
  for (const auto& endpoint : endpoints) {
    if (endpoint.empty()) return base::Status(Code::kInvalidArgument, "empty endpoint");
  }
  if (dial_timeout.count() <= 0 || request_timeout.count() <= 0)
    return base::Status(Code::kInvalidArgument, "timeouts must be positive");
  return base::Status::Ok();
}

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  for (size_t i = end.size(); i > 0; --i) {
    if (static_cast<unsigned char>(end[i - 1]) < 0xff) {
      end[i - 1] = static_cast<char>(static_cast<unsigned char>(end[i - 1]) + 1);
      end.resize(i);
      return end;
    }
  }
  return std::string(1, '\0');
}

Client::Client(Config config) : config_(std::move(config)) {}

Result<std::unique_ptr<Client>> Client::Connect(Config config) {
  ETCPP_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Client> client(new Client(std::move(config)));
  for (const auto& address : client->config_.endpoints) {
    auto credentials = CredentialsFor(client->config_, address);
    if (!credentials.ok()) return credentials.status();
    client->endpoints_.push_back(MakeEndpoint(client->config_, address, *credentials));
  }
  if (!client->config_.username.empty()) {
    const auto deadline = Clock::now() + client->config_.dial_timeout;
    auto endpoint = client->PickEndpoint(deadline);
    if (!endpoint.ok()) return endpoint.status();
    ETCPP_RETURN_IF_ERROR(client->Authenticate(**endpoint, deadline));
  }
  return client;
}

Result<Endpoint*> Client::PickEndpoint(Clock::time_point deadline) {
  size_t index;
  {
    std::lock_guard lock(mu_);
    index = current_;
  }
  for (;;) {
    Endpoint& endpoint = *endpoints_[index];
    const auto until = std::min(deadline, Clock::now() + config_.dial_timeout);
    if (WaitConnected(*endpoint.channel, until)) {
      std::lock_guard lock(mu_);
      current_ = index;
      return &endpoint;
    }
    if (Clock::now() >= deadline) return base::Status(Code::kUnavailable, kErrContextDeadline);
    index = (index + 1) % endpoints_.size();
  }
}

void Client::ReportFailure(const Endpoint* endpoint) {
  std::lock_guard lock(mu_);
  if (endpoints_[current_].get() == endpoint) current_ = (current_ + 1) % endpoints_.size();
}

base::Status Client::Authenticate(Endpoint& endpoint, Clock::time_point deadline) {
  etcdserverpb::AuthenticateRequest request;
  request.set_name(config_.username);
  request.set_password(config_.password);
  etcdserverpb::AuthenticateResponse response;
  grpc::ClientContext context;
  context.set_deadline(deadline);
  const grpc::Status status = endpoint.auth->Authenticate(&context, request, &response);
  if (!status.ok()) {
    if (config_.on_attempt_failed)
      config_.on_attempt_failed(config_.endpoints[0], 0, std::string("rpc error: code = ") +
                                                          GrpcCodeName(status.error_code()) + " desc = " +
                                                          status.error_message());
    return FromGrpc(status);
  }
  std::lock_guard lock(mu_);
  token_ = response.token();
  return base::Status::Ok();
}

base::Status Client::RefreshToken() {
  if (config_.username.empty()) return base::Status::Ok();
  const auto deadline = Clock::now() + config_.request_timeout;
  auto endpoint = PickEndpoint(deadline);
  if (!endpoint.ok()) return endpoint.status();
  return Authenticate(**endpoint, deadline);
}

void Client::AttachToken(grpc::ClientContext& context) {
  std::lock_guard lock(mu_);
  if (!token_.empty()) context.AddMetadata("token", token_);
}

base::Status Client::Invoke(Retry retry, const CallFn& call) {
  const auto deadline = Clock::now() + config_.request_timeout;
  bool refreshed = false;
  for (int attempt = 0;; ++attempt) {
    auto endpoint = PickEndpoint(deadline);
    if (!endpoint.ok()) {
      // What grpc-go reports when no connection came up before the deadline.
      if (config_.on_attempt_failed)
        config_.on_attempt_failed(config_.endpoints[0], attempt, "rpc error: code = DeadlineExceeded desc = latest balancer "
                                           "error: all SubConns are in TransientFailure");
      return endpoint.status();
    }
    grpc::ClientContext context;
    context.set_deadline(deadline);
    AttachToken(context);
    const grpc::Status status = call(**endpoint, context);
    if (status.ok()) return base::Status::Ok();
    if (config_.on_attempt_failed) {
      const bool deadline_passed = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      config_.on_attempt_failed(config_.endpoints[0], attempt, std::string("rpc error: code = ") + GrpcCodeName(status.error_code()) +
                                             " desc = " +
                                             (deadline_passed ? kErrContextDeadline : status.error_message()));
    }
    if (!refreshed && !config_.username.empty() &&
        status.error_message() == kErrInvalidAuthToken) {
      refreshed = true;  // once: a second rejection is not an expired token
      ETCPP_RETURN_IF_ERROR(Authenticate(**endpoint, deadline));
      continue;
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && retry == Retry::kSafe &&
        Clock::now() < deadline) {
      ReportFailure(*endpoint);
      continue;
    }
    return FromGrpc(status);
  }
}

Result<Endpoint*> Client::PrepareStream(grpc::ClientContext& context, Clock::time_point deadline) {
  auto endpoint = PickEndpoint(deadline);
  if (!endpoint.ok()) return endpoint.status();
  AttachToken(context);
  return endpoint;
}

Result<Endpoint*> Client::PrepareCall(Clock::time_point deadline, std::string& token) {
  auto endpoint = PickEndpoint(deadline);
  if (!endpoint.ok()) return endpoint.status();
  std::lock_guard lock(mu_);
  token = token_;
  return endpoint;
}

#define ETCPP_DEFINE_UNARY(stub, method, request, response, retry)                         \
  Result<etcdserverpb::response> Client::method(const etcdserverpb::request& req) {        \
    etcdserverpb::response resp;                                                           \
    base::Status status = Invoke(Retry::retry, [&](Endpoint& endpoint, grpc::ClientContext& ctx) { \
      resp.Clear();                                                                        \
      return endpoint.stub->method(&ctx, req, &resp);                                      \
    });                                                                                    \
    if (!status.ok()) return status;                                                       \
    return resp;                                                                           \
  }
ETCPP_CLIENT_UNARY_METHODS(ETCPP_DEFINE_UNARY)
#undef ETCPP_DEFINE_UNARY

namespace {

// What one asynchronous call owns until the completion queue hands it back.
template <typename Response>
struct AsyncCall : Client::AsyncTag {
  grpc::ClientContext context;
  Response received;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
  std::function<void(base::Result<Response>)> done;

  void Complete() override {
    if (status.ok()) done(std::move(received));
    else done(FromGrpc(status));
  }
};

}  // namespace

Endpoint& Client::CurrentEndpoint() {
  std::lock_guard lock(mu_);
  return *endpoints_[current_];
}

grpc::CompletionQueue* Client::AsyncQueue() {
  std::call_once(async_started_, [this] {
    async_thread_ = std::thread([this] {
      void* tag = nullptr;
      bool ok = false;
      // Every tag is an AsyncTag whose Finish has completed (ok or not, its status says).
      while (async_queue_.Next(&tag, &ok)) {
        std::unique_ptr<AsyncTag> call(static_cast<AsyncTag*>(tag));
        call->Complete();
      }
    });
  });
  return &async_queue_;
}

Client::~Client() {
  // Waits for the calls still in flight (each ends by its deadline at the latest), so no
  // callback runs after the client is gone.
  async_queue_.Shutdown();
  if (async_thread_.joinable()) async_thread_.join();
}

#define ETCPP_DEFINE_ASYNC(stub, method, request, response, retry)                                   \
  void Client::method##Async(const etcdserverpb::request& req,                                       \
                             std::function<void(base::Result<etcdserverpb::response>)> done) {       \
    auto call = std::make_unique<AsyncCall<etcdserverpb::response>>();                               \
    call->done = std::move(done);                                                                    \
    call->context.set_deadline(Clock::now() + config_.request_timeout);                              \
    AttachToken(call->context);                                                                      \
    call->reader = CurrentEndpoint().stub->PrepareAsync##method(&call->context, req, AsyncQueue());  \
    call->reader->StartCall();                                                                       \
    auto* tag = call.release(); /* owned by the queue until the poller takes it back */             \
    tag->reader->Finish(&tag->received, &tag->status, tag);                                          \
  }
ETCPP_CLIENT_UNARY_METHODS(ETCPP_DEFINE_ASYNC)
#undef ETCPP_DEFINE_ASYNC

base::Status Client::Snapshot(const std::function<base::Status(const std::string&)>& sink) {
  base::Status sink_status;
  // A snapshot is long-running: only the connection is bounded, not the transfer.
  auto endpoint = PickEndpoint(Clock::now() + config_.request_timeout);
  if (!endpoint.ok()) return endpoint.status();
  grpc::ClientContext context;
  AttachToken(context);
  auto reader = (*endpoint)->maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
  etcdserverpb::SnapshotResponse chunk;
  while (reader->Read(&chunk)) {
    sink_status = sink(chunk.blob());
    if (!sink_status.ok()) {
      context.TryCancel();
      break;
    }
  }
  const grpc::Status finished = reader->Finish();
  if (!sink_status.ok()) return sink_status;
  return FromGrpc(finished);
}

Result<etcdserverpb::LeaseKeepAliveResponse> Client::LeaseKeepAliveOnce(int64_t lease_id) {
  etcdserverpb::LeaseKeepAliveResponse response;
  base::Status status = Invoke(Retry::kSafe, [&](Endpoint& endpoint, grpc::ClientContext& context) {
    auto stream = endpoint.lease->LeaseKeepAlive(&context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease_id);
    if (stream->Write(request) && stream->Read(&response)) {
      stream->WritesDone();
      context.TryCancel();
      (void)stream->Finish();  // cancelled on purpose; its status says only that
      return grpc::Status::OK;
    }
    return stream->Finish();
  });
  if (!status.ok()) return status;
  // The server answers an unknown lease with TTL <= 0 rather than an error; the Go client
  // reports it as this error, and so do we.
  if (response.ttl() <= 0)
    return base::Status(Code::kNotFound, "etcdserver: requested lease not found");
  return response;
}

}  // namespace etcpp::client
