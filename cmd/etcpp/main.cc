// etcpp: the server. Reads etcd's flags, starts one member and serves its clients until
// SIGINT or SIGTERM, then stops gracefully.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "api/client_listener.h"
#include "api/election_service.h"
#include "api/gateway.h"
#include "api/lease_service.h"
#include "api/lock_service.h"
#include "api/services.h"
#include "api/watch_service.h"
#include "base/log.h"
#include "server/flags.h"
#include "server/server.h"
#include "server/version.h"

extern char** environ;

namespace {

using etcpp::base::Log;
using etcpp::base::LogLevel;

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

// Blocks SIGINT and SIGTERM in every thread and returns once one arrives, so no thread
// is interrupted mid-write and shutdown runs on the main thread.
int WaitForSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

etcpp::api::TlsFiles TlsFilesOf(const etcpp::server::TransportSecurity& security) {
  return {security.cert_file, security.key_file, security.trusted_ca_file, security.client_cert_auth,
          security.auto_tls};
}

int Serve(const etcpp::server::Config& config) {
  // TLS settings are checked (and certificate files read) before anything touches the
  // data dir, so a misconfigured member changes nothing.
  std::map<std::string, std::shared_ptr<etcpp::api::ServerTls>> tls;
  std::vector<std::pair<std::string, const etcpp::server::TransportSecurity*>> secured;
  for (const auto& url : config.listen_peer_urls) secured.emplace_back(url, &config.peer_security);
  for (const auto& url : config.listen_client_urls) secured.emplace_back(url, &config.client_security);
  for (const auto& url : config.listen_metrics_urls) secured.emplace_back(url, &config.client_security);
  for (const auto& [url, security] : secured) {
    auto context = etcpp::api::ServerTlsFor(url, TlsFilesOf(*security),
                                            security == &config.peer_security ? "peer" : "client");
    if (!context.ok()) {
      Log(LogLevel::kFatal, "failed to start etcpp", {{"error", context.status().message()}});
      return 1;
    }
    tls[url] = *context;
  }
  auto server = etcpp::server::EtcdServer::Start(config);
  if (!server.ok()) {
    Log(LogLevel::kFatal, "failed to start etcpp", {{"error", server.status().message()}});
    return 1;
  }
  etcpp::api::KvService kv(server->get());
  etcpp::api::MaintenanceService maintenance(server->get());
  etcpp::api::ClusterService cluster(server->get());
  etcpp::api::LeaseService lease(server->get());
  etcpp::api::ElectionService election(server->get());
  etcpp::api::LockService lock(server->get());
  etcpp::api::WatchService watch(server->get(), config.max_request_bytes + 512 * 1024);
  grpc::ServerBuilder builder;
  // etcd's limit on a request, plus room for gRPC's framing.
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_request_bytes + 512 * 1024));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  builder.RegisterService(&kv);
  builder.RegisterService(&maintenance);
  builder.RegisterService(&cluster);
  builder.RegisterService(&lease);
  builder.RegisterService(&election);
  builder.RegisterService(&lock);
  builder.RegisterService(&watch);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();

  std::vector<std::unique_ptr<etcpp::api::ClientListener>> listeners;
  // The peer port: other members' gRPC streams, and etcd's peer HTTP endpoints (bytes
  // that are not HTTP get a closed connection and a log line).
  grpc::ServerBuilder peer_builder;
  peer_builder.SetMaxReceiveMessageSize(-1);
  peer_builder.RegisterService((*server)->peer_service());
  std::unique_ptr<grpc::Server> peer_server = peer_builder.BuildAndStart();
  for (const auto& url : config.listen_peer_urls) {
    auto listener = etcpp::api::ClientListener::Start(url, peer_server.get(),
                                                      etcpp::api::MakePeerHttp(server->get()), 2, nullptr, tls[url],
                                                      !config.peer_skip_client_san_verification);
    if (!listener.ok()) {
      Log(LogLevel::kFatal, "failed to listen", {{"address", url}, {"error", listener.status().message()}});
      (*server)->Stop();
      return 1;
    }
    Log(LogLevel::kInfo, "serving peer traffic", {{"address", url}});
    listeners.push_back(std::move(*listener));
  }
  auto gateway = etcpp::api::MakeGateway(server->get(), grpc_server->InProcessChannel({}));
  auto streaming = etcpp::api::MakeStreamingGateway(server->get());
  // --listen-metrics-urls serve the same HTTP endpoints (/metrics, /health, …) apart
  // from client traffic, so scrapers need not reach the client port.
  std::vector<std::pair<std::string, const char*>> urls;
  for (const auto& url : config.listen_client_urls) urls.emplace_back(url, "serving client traffic");
  for (const auto& url : config.listen_metrics_urls) urls.emplace_back(url, "serving metrics");
  for (const auto& [url, what] : urls) {
    auto listener = etcpp::api::ClientListener::Start(url, grpc_server.get(), gateway, 2, streaming, tls[url]);
    if (!listener.ok()) {
      Log(LogLevel::kFatal, "failed to listen", {{"address", url}, {"error", listener.status().message()}});
      (*server)->Stop();
      return 1;
    }
    Log(LogLevel::kInfo, what, {{"address", url}});
    listeners.push_back(std::move(*listener));
  }

  int signal = WaitForSignal();
  Log(LogLevel::kInfo, "received signal; shutting down", {{"signal", strsignal(signal)}});
  // No new connections; then the server answers whatever is in flight ("etcdserver:
  // server stopped" for what it cannot finish), so gRPC has nothing left to wait for
  // but idle connections, which it may drop after a short grace.
  for (auto& listener : listeners) listener->Stop();
  (*server)->Stop();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  peer_server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto parsed = etcpp::server::ParseFlags(std::vector<std::string>(argv + 1, argv + argc), Environment());
  if (auto* error = std::get_if<etcpp::server::FlagError>(&parsed)) {
    std::cerr << error->message << "\n";
    return error->exit_code;
  }
  auto& flags = std::get<etcpp::server::ParsedFlags>(parsed);
  // Debian's abseil is built with its debug checks: every mutex gRPC creates and destroys
  // (several per call) would update a global lock-order graph, 3-4 % of the server's CPU
  // under load; a production server has no use for that check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (flags.action == etcpp::server::Action::kHelp) {
    std::cout << etcpp::server::Usage();
    return 0;
  }
  if (flags.action == etcpp::server::Action::kVersion) {
    std::cout << "etcpp Version: " << etcpp::server::kEtcppVersion << "\n"
              << "etcd API Version: " << etcpp::server::kEtcdVersion << "\n";
    return 0;
  }
  etcpp::base::SetLogLevel(*etcpp::base::ParseLogLevel(flags.config.log_level));
  for (const auto& warning : flags.warnings) Log(LogLevel::kWarn, warning);
  Log(LogLevel::kInfo, "starting etcpp",
      {{"etcpp-version", etcpp::server::kEtcppVersion},
       {"name", flags.config.name},
       {"data-dir", flags.config.data_dir},
       {"listen-client-urls", flags.config.listen_client_urls},
       {"initial-cluster", flags.config.initial_cluster}});
  return Serve(flags.config);
}
