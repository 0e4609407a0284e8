#include "server/metrics.h"

#include <prometheus/text_serializer.h>

namespace etcpp::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Registry;

prometheus::Gauge& Gauge(Registry& r, const char* name, const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Counter& Counter(Registry& r, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r).Add({});
}

// etcd's disk histograms: exponential buckets from 1 ms doubling 14 times.
prometheus::Histogram& DiskHistogram(Registry& r, const char* name, const char* help) {
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b = 0.001; buckets.size() < 14; b *= 2) buckets.push_back(b);
  return BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
}

}  // namespace

Metrics::Metrics()
    : registry(std::make_shared<Registry>()),
      has_leader(Gauge(*registry, "etcd_server_has_leader",
                       "Whether or not a leader exists. 1 is existence, 0 is not.")),
      is_leader(Gauge(*registry, "etcd_server_is_leader",
                      "Whether or not this member is a leader. 1 if is, 0 otherwise.")),
      leader_changes_seen(Counter(*registry, "etcd_server_leader_changes_seen_total",
                                  "The number of leader changes seen.")),
      proposals_committed(Counter(*registry, "etcd_server_proposals_committed_total",
                                  "The total number of consensus proposals committed.")),
      proposals_applied(Counter(*registry, "etcd_server_proposals_applied_total",
                                "The total number of consensus proposals applied.")),
      proposals_pending(Gauge(*registry, "etcd_server_proposals_pending",
                              "The current number of pending proposals to commit.")),
      proposals_failed(Counter(*registry, "etcd_server_proposals_failed_total",
                               "The total number of failed proposals seen.")),
      wal_fsync_seconds(DiskHistogram(*registry, "etcd_disk_wal_fsync_duration_seconds",
                                      "The latency distributions of fsync called by WAL.")),
      backend_commit_seconds(DiskHistogram(
          *registry, "etcd_disk_backend_commit_duration_seconds",
          "The latency distributions of commit called by backend.")),
      db_total_size_bytes(Gauge(*registry, "etcd_mvcc_db_total_size_in_bytes",
                                "Total size of the underlying database physically allocated in bytes.")),
      db_total_size_in_use_bytes(Gauge(*registry, "etcd_mvcc_db_total_size_in_use_in_bytes",
                                       "Total size of the underlying database logically in use in bytes.")),
      grpc_handled_(BuildCounter()
                        .Name("grpc_server_handled_total")
                        .Help("Total number of RPCs completed on the server, regardless of success or failure.")
                        .Register(*registry)),
      peer_round_trip_(BuildHistogram()
                           .Name("etcd_network_peer_round_trip_time_seconds")
                           .Help("Round-Trip-Time histogram between peers")
                           .Register(*registry)) {}

std::string Metrics::Serve() const {
  return prometheus::TextSerializer().Serialize(registry->Collect());
}

void Metrics::GrpcHandled(const std::string& service, const std::string& method,
                          const std::string& code, bool server_stream) {
  grpc_handled_
      .Add({{"grpc_type", server_stream ? "server_stream" : "unary"},
            {"grpc_service", service},
            {"grpc_method", method},
            {"grpc_code", code}})
      .Increment();
}

void Metrics::PeerRoundTrip(const std::string& to, double seconds) {
  // etcd's buckets: 0.1 ms doubling 16 times.
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b = 0.0001; buckets.size() < 16; b *= 2) buckets.push_back(b);
  peer_round_trip_.Add({{"To", to}}, buckets).Observe(seconds);
}

}  // namespace etcpp::server
