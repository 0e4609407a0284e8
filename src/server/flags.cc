#include "server/flags.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <variant>

namespace etcpp::server {
namespace {

// A Go duration ("100ms", "1m30s") held in milliseconds.
struct DurationMs {
  uint64_t* ms;
};

using Ref = std::variant<std::string*, uint64_t*, int64_t*, bool*, std::vector<std::string>*,
                         DurationMs>;

struct Flag {
  const char* section;
  const char* name;
  const char* help;
  Ref (*field)(Config&);
  std::vector<std::string> choices = {};  // empty: any value of the type
};

#define FIELD(member) [](Config& c) -> Ref { return &c.member; }
#define DURATION(member) [](Config& c) -> Ref { return DurationMs{&c.member}; }

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      {"Member", "name", "Human-readable name for this member.", FIELD(name)},
      {"Member", "data-dir", "Path to the data directory (default '${name}.etcpp').",
       FIELD(data_dir)},
      {"Member", "wal-dir", "Path to the dedicated wal directory.", FIELD(wal_dir)},
      {"Member", "snapshot-count", "Number of committed transactions to trigger a snapshot to disk.",
       FIELD(snapshot_count)},
      {"Member", "heartbeat-interval", "Time (in milliseconds) of a heartbeat interval.",
       FIELD(heartbeat_interval_ms)},
      {"Member", "election-timeout", "Time (in milliseconds) for an election to timeout.",
       FIELD(election_timeout_ms)},
      {"Member", "initial-election-tick-advance",
       "Whether to fast-forward initial election ticks on boot for faster election.",
       FIELD(initial_election_tick_advance)},
      {"Member", "listen-peer-urls", "List of URLs to listen on for peer traffic.",
       FIELD(listen_peer_urls)},
      {"Member", "listen-client-urls", "List of URLs to listen on for client traffic.",
       FIELD(listen_client_urls)},
      {"Member", "max-snapshots", "Maximum number of snapshot files to retain (0 is unlimited).",
       FIELD(max_snapshots)},
      {"Member", "max-wals", "Maximum number of wal files to retain (0 is unlimited).",
       FIELD(max_wals)},
      {"Member", "quota-backend-bytes",
       "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).",
       FIELD(quota_backend_bytes)},
      {"Member", "backend-batch-interval",
       "The maximum time before committing the backend transaction.",
       DURATION(backend_batch_interval_ms)},
      {"Member", "backend-batch-limit",
       "The maximum operations before committing the backend transaction.",
       FIELD(backend_batch_limit)},
      {"Member", "max-txn-ops", "Maximum number of operations permitted in a transaction.",
       FIELD(max_txn_ops)},
      {"Member", "max-request-bytes", "Maximum client request size in bytes the server will accept.",
       FIELD(max_request_bytes)},
      {"Clustering", "initial-advertise-peer-urls",
       "List of this member's peer URLs to advertise to the rest of the cluster.",
       FIELD(initial_advertise_peer_urls)},
      {"Clustering", "initial-cluster",
       "Initial cluster configuration for bootstrapping (default '${name}=${initial-advertise-peer-urls}').",
       FIELD(initial_cluster)},
      {"Clustering", "initial-cluster-state", "Initial cluster state ('new' or 'existing').",
       FIELD(initial_cluster_state), {"new", "existing"}},
      {"Clustering", "initial-cluster-token",
       "Initial cluster token for the etcd cluster during bootstrap.", FIELD(initial_cluster_token)},
      {"Clustering", "advertise-client-urls",
       "List of this member's client URLs to advertise to the public.",
       FIELD(advertise_client_urls)},
      {"Clustering", "strict-reconfig-check",
       "Reject reconfiguration requests that would cause quorum loss.",
       FIELD(strict_reconfig_check)},
      {"Clustering", "pre-vote", "Enable to run an additional Raft election phase.",
       FIELD(pre_vote)},
      {"Clustering", "auto-compaction-retention",
       "Auto compaction retention length. 0 means disable auto compaction.",
       FIELD(auto_compaction_retention)},
      {"Clustering", "auto-compaction-mode",
       "Interpret 'auto-compaction-retention' one of: periodic|revision.",
       FIELD(auto_compaction_mode)},
      {"Clustering", "experimental-watch-progress-notify-interval",
       "Duration of periodic watch progress notifications.",
       DURATION(watch_progress_notify_interval_ms)},
      {"Clustering", "experimental-snapshot-catchup-entries",
       "Number of entries for a slow follower to catch up after compacting the raft storage entries.",
       FIELD(snapshot_catchup_entries)},
      {"Experimental feature", "experimental-initial-corrupt-check",
       "Enable to check data corruption before serving any client/peer traffic.",
       FIELD(initial_corrupt_check)},
      {"Experimental feature", "experimental-corrupt-check-time",
       "Duration of time between cluster corruption check passes.",
       DURATION(corrupt_check_time_ms)},
      {"Security", "cert-file", "Path to the client server TLS cert file.",
       FIELD(client_security.cert_file)},
      {"Security", "key-file", "Path to the client server TLS key file.",
       FIELD(client_security.key_file)},
      {"Security", "client-cert-auth", "Enable client cert authentication.",
       FIELD(client_security.client_cert_auth)},
      {"Security", "trusted-ca-file", "Path to the client server TLS trusted CA cert file.",
       FIELD(client_security.trusted_ca_file)},
      {"Security", "auto-tls", "Client TLS using generated certificates.",
       FIELD(client_security.auto_tls)},
      {"Security", "peer-cert-file", "Path to the peer server TLS cert file.",
       FIELD(peer_security.cert_file)},
      {"Security", "peer-key-file", "Path to the peer server TLS key file.",
       FIELD(peer_security.key_file)},
      {"Security", "peer-client-cert-auth", "Enable peer client cert authentication.",
       FIELD(peer_security.client_cert_auth)},
      {"Security", "peer-trusted-ca-file", "Path to the peer server TLS trusted CA file.",
       FIELD(peer_security.trusted_ca_file)},
      {"Security", "peer-auto-tls",
       "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.",
       FIELD(peer_security.auto_tls)},
      {"Security", "experimental-peer-skip-client-san-verification",
       "Skip verification of SAN field in client certificate for peer connections.",
       FIELD(peer_skip_client_san_verification)},
      {"Auth", "auth-token",
       "Specify a v3 authentication token type and its options ('simple' or 'jwt').",
       FIELD(auth_token)},
      {"Auth", "bcrypt-cost",
       "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords.",
       FIELD(bcrypt_cost)},
      {"Auth", "auth-token-ttl", "Time (in seconds) of the auth-token-ttl.",
       FIELD(auth_token_ttl_s)},
      {"Auth", "root-password",
       "etcpp: create user 'root' with this password and enable authentication at bootstrap.",
       FIELD(root_password)},
      {"Profiling and Monitoring", "listen-metrics-urls",
       "List of URLs to listen on for the metrics and health endpoints.",
       FIELD(listen_metrics_urls)},
      {"Logging", "logger", "Currently only supports 'zap' for structured logging.", FIELD(logger),
       {"zap"}},
      {"Logging", "log-outputs", "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets.",
       FIELD(log_outputs)},
      {"Logging", "log-level",
       "Configures log level. Only supports debug, info, warn, error, panic, or fatal.",
       FIELD(log_level), {"debug", "info", "warn", "error", "panic", "fatal"}},
      {"", "config-file",
       "Path to the server configuration file. If set, other flags and environment variables are ignored.",
       FIELD(config_file)},
  };
  return flags;
}

const Flag* FindFlag(std::string_view name) {
  for (const Flag& flag : Flags()) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string JoinCommas(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> ParseBool(std::string_view s) {
  static const std::set<std::string_view> yes = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string_view> no = {"0", "f", "F", "FALSE", "false", "False"};
  if (yes.count(s)) return true;
  if (no.count(s)) return false;
  return std::nullopt;
}

template <typename Int>
std::optional<Int> ParseInt(std::string_view s) {
  Int value{};
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}


std::string FormatDurationMs(uint64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms >= 3600000) out += std::to_string(ms / 3600000) + "h", ms %= 3600000;
  if (!out.empty() || ms >= 60000) out += std::to_string(ms / 60000) + "m", ms %= 60000;
  if (ms % 1000 == 0 || !out.empty()) {
    out += std::to_string(ms / 1000);
    if (ms % 1000) out += "." + std::to_string(ms % 1000);
    return out + "s";
  }
  return std::to_string(ms) + "ms";
}

bool IsBool(const Flag& flag) {
  Config scratch;
  return std::holds_alternative<bool*>(flag.field(scratch));
}

// Sets one flag from its textual value; the error text is Go's flag package's.
std::optional<std::string> Set(Config& config, const Flag& flag, const std::string& value) {
  std::string invalid = "invalid value \"" + value + "\" for flag -" + flag.name + ": ";
  if (!flag.choices.empty() &&
      std::find(flag.choices.begin(), flag.choices.end(), value) == flag.choices.end()) {
    return invalid + "invalid value";
  }
  bool ok = std::visit(
      [&](auto target) -> bool {
        using T = decltype(target);
        if constexpr (std::is_same_v<T, std::string*>) {
          *target = value;
        } else if constexpr (std::is_same_v<T, bool*>) {
          auto parsed = ParseBool(value);
          if (!parsed) return false;
          *target = *parsed;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>*>) {
          *target = SplitCommas(value);
        } else if constexpr (std::is_same_v<T, DurationMs>) {
          auto parsed = ParseDurationMs(value);
          if (!parsed) return false;
          *target.ms = *parsed;
        } else {
          auto parsed = ParseInt<std::remove_pointer_t<T>>(value);
          if (!parsed) return false;
          *target = *parsed;
        }
        return true;
      },
      flag.field(config));
  if (ok) return std::nullopt;
  if (IsBool(flag)) return "invalid boolean value \"" + value + "\" for -" + flag.name + ": parse error";
  return invalid + "parse error";
}

std::string Display(const Flag& flag) {
  Config defaults;
  return std::visit(
      [](auto target) -> std::string {
        using T = decltype(target);
        if constexpr (std::is_same_v<T, std::string*>) return *target;
        else if constexpr (std::is_same_v<T, bool*>) return *target ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::vector<std::string>*>) return JoinCommas(*target);
        else if constexpr (std::is_same_v<T, DurationMs>) return FormatDurationMs(*target.ms);
        else return std::to_string(*target);
      },
      flag.field(defaults));
}

std::string EnvName(std::string_view flag) {
  std::string out = "ETCD_";
  for (char c : flag) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

FlagError ParseError(const std::string& message) { return {2, message + "\n" + Usage()}; }
FlagError VerifyError(const std::string& message) {
  return {1, "error verifying flags, " + message + ". See 'etcpp --help'."};
}

// The YAML file's keys are the flag names; TLS settings nest under
// client-transport-security and peer-transport-security as in etcd's config file.
std::optional<FlagError> LoadConfigFile(const std::string& path, ParsedFlags& parsed);

}  // namespace

// Go's time.ParseDuration for non-negative values, to whole milliseconds.
std::optional<uint64_t> ParseDurationMs(std::string_view s) {
  static const std::pair<std::string_view, double> units[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
  if (s == "0") return 0;
  double total = 0;
  while (!s.empty()) {
    size_t digits = 0;
    while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    double number = std::stod(std::string(s.substr(0, digits)));
    s.remove_prefix(digits);
    bool matched = false;
    for (const auto& [unit, ms] : units) {
      // Longest unit first matters for "ms" versus "m": "ms" is listed before "m".
      if (s.substr(0, unit.size()) == unit) {
        total += number * ms;
        s.remove_prefix(unit.size());
        matched = true;
        break;
      }
    }
    if (!matched) return std::nullopt;
  }
  return static_cast<uint64_t>(total);
}

std::string Usage() {
  std::string out =
      "Usage:\n\n  etcpp [flags]\n    Start an etcpp server.\n\n  etcpp --version\n"
      "    Show the version of etcpp.\n\n  etcpp -h | --help\n    Show the help information about "
      "etcpp.\n";
  std::string section = "-";
  for (const Flag& flag : Flags()) {
    if (flag.section != section) {
      section = flag.section;
      out += section.empty() ? "\n" : "\n" + section + ":\n";
    }
    out += "  --" + std::string(flag.name) + " '" + Display(flag) + "'\n    " + flag.help + "\n";
  }
  return out;
}

std::variant<ParsedFlags, FlagError> ParseFlags(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& environment) {
  ParsedFlags parsed;
  std::set<std::string> given;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) return VerifyError("'" + args[i + 1] + "' is not a valid flag");
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') return VerifyError("'" + args[i] + "' is not a valid flag");
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (arg.empty() || arg[0] == '-' || arg[0] == '=') return ParseError("bad flag syntax: " + args[i]);
    size_t eq = arg.find('=');
    std::string name(arg.substr(0, eq));
    std::optional<std::string> value;
    if (eq != std::string_view::npos) value = std::string(arg.substr(eq + 1));
    if (name == "h" || name == "help") {
      parsed.action = Action::kHelp;
      return parsed;
    }
    if (name == "version") {
      parsed.action = Action::kVersion;
      return parsed;
    }
    const Flag* flag = FindFlag(name);
    if (!flag) return ParseError("flag provided but not defined: -" + name);
    if (!value && IsBool(*flag)) value = "true";
    if (!value) {
      if (i + 1 == args.size()) return ParseError("flag needs an argument: -" + name);
      value = args[++i];
    }
    if (auto error = Set(parsed.config, *flag, *value)) return ParseError(*error);
    given.insert(name);
  }

  for (const auto& [key, value] : environment) {
    if (key.rfind("ETCD_", 0) != 0) continue;
    const Flag* flag = nullptr;
    for (const Flag& f : Flags()) {
      if (EnvName(f.name) == key) flag = &f;
    }
    if (!flag) {
      parsed.warnings.push_back("unrecognized environment variable " + key + "=" + value);
      continue;
    }
    if (given.count(flag->name)) {
      return FlagError{1, "conflicting environment variable \"" + key +
                              "\" is shadowed by corresponding command-line flag (either unset "
                              "environment variable or disable flag)"};
    }
    if (auto error = Set(parsed.config, *flag, value)) return FlagError{1, *error};
  }

  if (!parsed.config.config_file.empty()) {
    if (auto error = LoadConfigFile(parsed.config.config_file, parsed)) return *error;
  }
  if (auto status = parsed.config.Validate(); !status.ok()) return VerifyError(status.message());
  return parsed;
}

namespace {

std::optional<FlagError> LoadConfigFile(const std::string& path, ParsedFlags& parsed) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return FlagError{1, "failed to load config file " + path + ": " + e.what()};
  }
  // As in etcd, the file replaces flags and environment: start from the defaults.
  Config config;
  config.config_file = path;
  std::string problem;
  auto set = [&](Config& target, const std::string& key, const YAML::Node& node) {
    const Flag* flag = FindFlag(key);
    if (!flag) {
      parsed.warnings.push_back("unknown key in config file " + path + ": " + key);
      return;
    }
    std::string value;
    if (node.IsSequence()) {
      std::vector<std::string> items;
      for (const auto& item : node) items.push_back(item.as<std::string>());
      value = JoinCommas(items);
    } else if (!node.IsNull()) {
      value = node.as<std::string>();
    }
    if (auto error = Set(target, *flag, value); error && problem.empty()) problem = *error;
  };
  if (!root.IsMap() && !root.IsNull()) return FlagError{1, "config file " + path + " is not a YAML map"};
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    if (key == "client-transport-security" || key == "peer-transport-security") {
      std::string prefix = key == "peer-transport-security" ? "peer-" : "";
      for (const auto& tls : entry.second) {
        std::string name = tls.first.as<std::string>();
        // etcd spells the peer flags peer-cert-file but the nested keys cert-file.
        set(config, (name == "auto-tls" || name == "client-cert-auth" || name.ends_with("-file"))
                        ? prefix + name
                        : name,
            tls.second);
      }
      continue;
    }
    set(config, key, entry.second);
  }
  if (!problem.empty()) return FlagError{1, "config file " + path + ": " + problem};
  parsed.config = std::move(config);
  return std::nullopt;
}

}  // namespace
}  // namespace etcpp::server
