// Config: how a Client reaches an etcd cluster. Plain data, filled by the caller (etcppctl
// from its flags, the benchmark from its options) and checked once by Validate().
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace etcpp::client {

struct TlsConfig {
  std::string ca_file;    // PEM bundle to verify the server; empty: the system roots
  std::string cert_file;  // client certificate (PEM), with key_file
  std::string key_file;
  // Accepts any server certificate. gRPC C++ can only do this through its experimental
  // TLS credentials, which is why the flag is honoured at the channel level (see
  // connection.cc).
  bool skip_verify = false;
};

struct Config {
  // "host:port", "http://host:port" or "https://host:port", tried in this order.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds dial_timeout{2000};
  // Deadline of one request (unary call), including retries on other endpoints.
  std::chrono::milliseconds request_timeout{5000};
  // HTTP/2 pings on an idle connection, and how long to wait for their answer before the
  // connection counts as dead (etcdctl's --keepalive-time / --keepalive-timeout).
  std::chrono::milliseconds keepalive_time{2000};
  std::chrono::milliseconds keepalive_timeout{6000};
  std::string username;  // empty: no authentication
  std::string password;
  std::optional<TlsConfig> tls;  // unset: plaintext
  // gRPC's own retries (of calls that failed before reaching a server). etcpp-bench turns
  // them off: their bookkeeping costs about a third more CPU per call, and a benchmark
  // should count such a failure rather than hide it.
  bool grpc_retries = true;
  // Called after every failed attempt of a unary call, with the first endpoint, the
  // attempt number and the failure as grpc-go prints it ("rpc error: code = ... desc =
  // ..."); etcdctl logs these as warnings. May be empty.
  std::function<void(const std::string& endpoint, int attempt, const std::string& error)> on_attempt_failed;

  base::Status Validate() const;
};

}  // namespace etcpp::client
