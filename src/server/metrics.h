// The server's Prometheus metrics, under etcd's names so that dashboards and alerts
// written for etcd work unchanged. One registry per server; the counters and gauges are
// lock-free to update from any thread. Serve() renders the text exposition format that
// GET /metrics answers.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace etcpp::server {

class Metrics {
 public:
  Metrics();

  // The text exposition format, for GET /metrics.
  std::string Serve() const;

  // Counts one finished gRPC call (grpc-go-prometheus's grpc_server_handled_total).
  void GrpcHandled(const std::string& service, const std::string& method, const std::string& code,
                   bool server_stream);
  // One peer probe's round trip to member `to` (hex id).
  void PeerRoundTrip(const std::string& to, double seconds);

  // Declared first: every metric below is registered in it.
  std::shared_ptr<prometheus::Registry> registry;

  prometheus::Gauge& has_leader;
  prometheus::Gauge& is_leader;
  prometheus::Counter& leader_changes_seen;
  prometheus::Counter& proposals_committed;  // by the raft loop, as they commit
  prometheus::Counter& proposals_applied;    // by the apply loop
  prometheus::Gauge& proposals_pending;      // proposed, neither applied nor failed
  prometheus::Counter& proposals_failed;
  prometheus::Histogram& wal_fsync_seconds;
  prometheus::Histogram& backend_commit_seconds;
  prometheus::Gauge& db_total_size_bytes;
  prometheus::Gauge& db_total_size_in_use_bytes;

 private:
  prometheus::Family<prometheus::Counter>& grpc_handled_;
  prometheus::Family<prometheus::Histogram>& peer_round_trip_;
};

}  // namespace etcpp::server
