// The server's configuration: every etcd server flag etcpp honours, with etcd's names
// and defaults (DESIGN.md §1). Filled from, in order of precedence, the command line,
// ETCD_<FLAG> environment variables, or a YAML file given by --config-file (which, as
// in etcd, replaces flags and environment entirely). Validate() applies etcd's rules
// and returns etcd's error text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace etcpp::server {

struct TransportSecurity {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  bool client_cert_auth = false;
  bool auto_tls = false;
};

struct Config {
  // Member
  std::string name = "default";
  std::string data_dir;  // empty: "<name>.etcpp"
  std::string wal_dir;   // empty: "<data_dir>/member/wal"
  uint64_t snapshot_count = 100000;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t election_timeout_ms = 1000;
  bool initial_election_tick_advance = true;
  std::vector<std::string> listen_peer_urls = {"http://localhost:2380"};
  std::vector<std::string> listen_client_urls = {"http://localhost:2379"};
  std::vector<std::string> listen_metrics_urls;
  uint64_t max_snapshots = 5;
  uint64_t max_wals = 5;
  int64_t quota_backend_bytes = 0;  // 0: etcd's default of 2 GiB
  uint64_t backend_batch_interval_ms = 100;
  uint64_t backend_batch_limit = 10000;
  uint64_t max_txn_ops = 128;
  uint64_t max_request_bytes = 1572864;

  // Clustering
  std::vector<std::string> initial_advertise_peer_urls = {"http://localhost:2380"};
  std::string initial_cluster;  // empty: "<name>=<initial advertise peer urls>"
  std::string initial_cluster_state = "new";
  std::string initial_cluster_token = "etcd-cluster";
  std::vector<std::string> advertise_client_urls = {"http://localhost:2379"};
  bool strict_reconfig_check = true;
  bool pre_vote = true;
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  uint64_t watch_progress_notify_interval_ms = 600000;
  uint64_t snapshot_catchup_entries = 5000;
  // Corruption checks: before serving, compare this member's hash with its peers'
  // (refuse to start on a mismatch); and, on the leader, every so often (0: never),
  // raising the CORRUPT alarm on a mismatch.
  bool initial_corrupt_check = false;
  uint64_t corrupt_check_time_ms = 0;

  // Security
  TransportSecurity client_security;
  TransportSecurity peer_security;
  // A peer's client certificate with IP or DNS SANs must name the address it connects
  // from (etcd's check); --experimental-peer-skip-client-san-verification turns it off.
  bool peer_skip_client_san_verification = false;
  std::string auth_token = "simple";
  uint64_t bcrypt_cost = 10;
  uint64_t auth_token_ttl_s = 300;
  std::string root_password;  // etcpp: create and enable `root` with it at bootstrap

  // Logging
  std::string logger = "zap";
  std::string log_level = "info";
  std::vector<std::string> log_outputs = {"default"};

  std::string config_file;

  // Fills the derived defaults (data dir, initial cluster) and checks etcd's rules.
  base::Status Validate();

  // --auto-compaction-retention read for its mode: periodic, a duration in ms (a bare
  // number means hours); revision, a number of revisions. 0: no auto-compaction.
  uint64_t AutoCompactionRetention() const;

  // --quota-backend-bytes with 0 meaning etcd's default (2 GiB).
  int64_t BackendQuotaBytes() const;
};

}  // namespace etcpp::server
