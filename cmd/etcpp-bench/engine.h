// Engine: the connections of one etcpp-bench run and the single thread that drives them.
//
// Every request in flight is a Tag on one gRPC completion queue; Run() takes completed
// tags off the queue and lets each start its next request right there, on the same
// thread. No locks, no hand-offs between threads: one core keeps many requests in
// flight on every connection, so the tool is not what limits a benchmark.
//
// --conns Clients (each its own TCP connection per endpoint) are shared round robin by
// the --clients simulated clients; connection i starts at endpoint i, so several
// connections spread over the members of a cluster, as etcd's benchmark does.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "client/client.h"

namespace etcpp::bench {

using Clock = std::chrono::steady_clock;

struct GlobalOptions {
  std::vector<std::string> endpoints;
  int conns = 1;
  int clients = 1;
  bool precise = false;
  bool json = false;
  bool target_leader = false;
  std::string user;  // "name[:password]"
  client::TlsConfig tls;
  bool use_tls = false;
  std::chrono::milliseconds dial_timeout{2000};
};

// Something waiting on the completion queue; `ok` is what the queue reported.
struct Tag {
  virtual ~Tag() = default;
  virtual void Proceed(bool ok) = 0;
};

// "rpc error: code = Unavailable desc = ...", as grpc-go prints a failed call in etcd's
// benchmark output; server errors ("etcdserver: ...") as they are.
std::string ErrorText(const grpc::Status& status);

class Engine {
 public:
  static base::Result<std::unique_ptr<Engine>> Connect(const GlobalOptions& options);
  ~Engine();

  int clients() const { return options_.clients; }
  grpc::CompletionQueue* queue() { return &queue_; }

  // Prepares `context` for a call of simulated client `client_index` (the auth token,
  // no deadline: etcd's benchmark sets none either) and returns the endpoint to call.
  base::Result<client::Endpoint*> Prepare(int client_index, grpc::ClientContext& context);
  // The same for a call over gRPC's C core: `token` gets the auth token, empty without
  // --user.
  base::Result<client::Endpoint*> PrepareCall(int client_index, std::string& token);

  // Token bucket of --rate (0: unlimited): the time the caller's request may start.
  void SetRate(int64_t per_second);
  bool limited() const { return interval_.count() != 0; }
  Clock::time_point Reserve();

  // Tasks: Run() returns once every task that called Hold() has called Release().
  void Hold() { ++live_; }
  void Release() { --live_; }
  void Run();

 private:
  explicit Engine(GlobalOptions options) : options_(std::move(options)) {}

  GlobalOptions options_;
  std::vector<std::unique_ptr<client::Client>> connections_;
  // Each connection's endpoint, found once: without a token to attach, a call needs
  // nothing else from the Client, and asking it per call costs a lock and a channel
  // state check every time.
  std::vector<client::Endpoint*> endpoints_;
  grpc::CompletionQueue queue_;
  int64_t live_ = 0;
  Clock::duration interval_{0};
  Clock::time_point next_start_{};
};

// The C core's channel under `endpoint`'s C++ channel, for calls that bypass the C++ API.
grpc_channel* CoreChannel(client::Endpoint& endpoint);

// Waits on the engine's queue until `when`, then proceeds `tag` (true).
void WakeAt(Engine& engine, grpc::Alarm& alarm, Clock::time_point when, Tag* tag);

}  // namespace etcpp::bench
