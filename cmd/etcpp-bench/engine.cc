#include "engine.h"

#include <grpcpp/test/channel_test_peer.h>

#include <iostream>

#include "client/errors.h"

namespace etcpp::bench {
namespace {

using base::Code;
using base::Status;

client::Config ConfigFor(const GlobalOptions& options, std::vector<std::string> endpoints) {
  client::Config config;
  config.endpoints = std::move(endpoints);
  config.dial_timeout = options.dial_timeout;
  config.grpc_retries = false;
  if (options.use_tls) config.tls = options.tls;
  if (!options.user.empty()) {
    const auto colon = options.user.find(':');
    config.username = options.user.substr(0, colon);
    if (colon != std::string::npos) config.password = options.user.substr(colon + 1);
  }
  return config;
}

// The endpoint of the leader: the one whose member id is the leader its Status names.
base::Result<std::string> FindLeader(const GlobalOptions& options) {
  for (const auto& endpoint : options.endpoints) {
    auto connection = client::Client::Connect(ConfigFor(options, {endpoint}));
    if (!connection.ok()) continue;
    auto status = (*connection)->Status(etcdserverpb::StatusRequest());
    if (status.ok() && status->leader() != 0 && status->leader() == status->header().member_id())
      return endpoint;
  }
  return Status(Code::kUnavailable, "no leader among the endpoints");
}

}  // namespace

std::string ErrorText(const grpc::Status& status) { return client::FromGrpc(status).message(); }

base::Result<std::unique_ptr<Engine>> Engine::Connect(const GlobalOptions& given) {
  GlobalOptions options = given;
  if (!options.user.empty() && options.user.find(':') == std::string::npos) {
    // No password on the command line: ask for it, as etcd's benchmark does.
    std::cerr << "Password: " << std::flush;
    std::string password;
    std::getline(std::cin, password);
    options.user += ":" + password;
  }
  if (options.target_leader) {
    auto leader = FindLeader(options);
    if (!leader.ok()) return leader.status();
    options.endpoints = {*leader};
  }
  std::unique_ptr<Engine> engine(new Engine(options));
  const size_t n = options.endpoints.size();
  for (int i = 0; i < options.conns; ++i) {
    std::vector<std::string> rotated;
    for (size_t j = 0; j < n; ++j) rotated.push_back(options.endpoints[(i + j) % n]);
    auto connection = client::Client::Connect(ConfigFor(options, rotated));
    if (!connection.ok()) return connection.status();
    // Connect now, so a run does not start with the dial in its first latencies.
    grpc::ClientContext context;
    auto endpoint = (*connection)->PrepareStream(
        context, client::Client::Clock::now() + options.dial_timeout);
    if (!endpoint.ok()) return endpoint.status();
    engine->endpoints_.push_back(*endpoint);
    engine->connections_.push_back(std::move(*connection));
  }
  return engine;
}

Engine::~Engine() {
  queue_.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
  }
}

base::Result<client::Endpoint*> Engine::Prepare(int client_index, grpc::ClientContext& context) {
  const size_t i = client_index % connections_.size();
  if (options_.user.empty()) return endpoints_[i];
  auto& connection = *connections_[i];
  return connection.PrepareStream(context, client::Client::Clock::now() + options_.dial_timeout);
}

base::Result<client::Endpoint*> Engine::PrepareCall(int client_index, std::string& token) {
  const size_t i = client_index % connections_.size();
  if (options_.user.empty()) return endpoints_[i];
  return connections_[i]->PrepareCall(client::Client::Clock::now() + options_.dial_timeout, token);
}

grpc_channel* CoreChannel(client::Endpoint& endpoint) {
  // gRPC C++ 1.51 has no public accessor; its test peer is an inline friend that reads
  // the pointer and needs no library of its own.
  return grpc::testing::ChannelTestPeer(endpoint.channel.get()).channel();
}

void Engine::SetRate(int64_t per_second) {
  interval_ = per_second > 0 ? Clock::duration(std::chrono::seconds(1)) / per_second : Clock::duration(0);
}

Clock::time_point Engine::Reserve() {
  const auto now = Clock::now();
  if (interval_.count() == 0) return now;
  const auto start = std::max(next_start_, now);
  next_start_ = start + interval_;
  return start;
}

void Engine::Run() {
  void* tag = nullptr;
  bool ok = false;
  while (live_ > 0 && queue_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

void WakeAt(Engine& engine, grpc::Alarm& alarm, Clock::time_point when, Tag* tag) {
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(when - Clock::now());
  alarm.Set(engine.queue(), deadline, tag);
}

}  // namespace etcpp::bench
