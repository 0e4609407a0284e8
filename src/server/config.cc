#include "server/config.h"

#include <charconv>
#include <string>

#include "server/flags.h"

namespace etcpp::server {
namespace {

// etcd's upper bound for --election-timeout.
constexpr uint64_t kElectionTimeoutMaxMs = 50000;
// etcd's default backend quota when --quota-backend-bytes is 0.
constexpr int64_t kDefaultQuotaBytes = int64_t{2} << 30;

base::Status Invalid(std::string message) {
  return base::Status(base::Code::kInvalidArgument, std::move(message));
}

base::Status CheckUrls(const char* flag, const std::vector<std::string>& urls) {
  for (const auto& url : urls) {
    size_t scheme_end = url.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https" && scheme != "unix" && scheme != "unixs") {
      return Invalid(std::string("--") + flag + " URL scheme must be http, https, unix, or unixs: " +
                     url);
    }
    std::string host = url.substr(scheme_end + 3);
    if (scheme.starts_with("unix")) continue;
    if (host.find(':') == std::string::npos || host.ends_with(":")) {
      return Invalid(std::string("--") + flag + " URL address does not have the form \"host:port\": " + url);
    }
  }
  return base::Status::Ok();
}

}  // namespace

uint64_t Config::AutoCompactionRetention() const {
  uint64_t number = 0;
  const std::string& r = auto_compaction_retention;
  auto [end, error] = std::from_chars(r.data(), r.data() + r.size(), number);
  bool is_number = error == std::errc() && end == r.data() + r.size();
  if (auto_compaction_mode == "revision") return is_number ? number : 0;
  if (is_number) return number * 3600 * 1000;
  return ParseDurationMs(r).value_or(0);
}

int64_t Config::BackendQuotaBytes() const {
  return quota_backend_bytes > 0 ? quota_backend_bytes : kDefaultQuotaBytes;
}

base::Status Config::Validate() {
  if (data_dir.empty()) data_dir = name + ".etcpp";
  if (initial_cluster.empty()) {
    for (const auto& url : initial_advertise_peer_urls) {
      initial_cluster += (initial_cluster.empty() ? "" : ",") + name + "=" + url;
    }
  }
  if (election_timeout_ms < 5 * heartbeat_interval_ms) {
    return Invalid("--election-timeout[" + std::to_string(election_timeout_ms) +
                   "ms] should be at least as 5 times as --heartbeat-interval[" +
                   std::to_string(heartbeat_interval_ms) + "ms]");
  }
  if (election_timeout_ms > kElectionTimeoutMaxMs) {
    return Invalid("--election-timeout[" + std::to_string(election_timeout_ms) +
                   "ms] is too long, and should be set less than " +
                   std::to_string(kElectionTimeoutMaxMs) + "ms");
  }
  if (auto_compaction_mode != "periodic" && auto_compaction_mode != "revision") {
    return Invalid("unknown auto-compaction-mode \"" + auto_compaction_mode + "\"");
  }
  if (auto_compaction_retention != "0" && AutoCompactionRetention() == 0) {
    return Invalid("invalid auto-compaction-retention \"" + auto_compaction_retention + "\"");
  }
  if (auth_token != "simple" && !auth_token.starts_with("jwt")) {
    return Invalid("unknown token type \"" + auth_token + "\"");
  }
  if (bcrypt_cost < 4 || bcrypt_cost > 31) {
    return Invalid("invalid bcrypt-cost " + std::to_string(bcrypt_cost) +
                   ", must be between 4 and 31");
  }
  ETCPP_RETURN_IF_ERROR(CheckUrls("listen-client-urls", listen_client_urls));
  ETCPP_RETURN_IF_ERROR(CheckUrls("listen-peer-urls", listen_peer_urls));
  ETCPP_RETURN_IF_ERROR(CheckUrls("advertise-client-urls", advertise_client_urls));
  ETCPP_RETURN_IF_ERROR(CheckUrls("initial-advertise-peer-urls", initial_advertise_peer_urls));
  ETCPP_RETURN_IF_ERROR(CheckUrls("listen-metrics-urls", listen_metrics_urls));
  return base::Status::Ok();
}

}  // namespace etcpp::server
