#include "global.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <cstdlib>
#include <iostream>

extern char** environ;

namespace etcpp::ctl {
namespace {

std::unique_ptr<Printer> g_display;

// The time prefix of etcd's capnslog lines: "2006-01-02 15:04:05.000000".
std::string LogTime() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(micros));
  return buf;
}

// etcdctl's zap warning for a failed unary attempt (clientv3/retry_interceptor.go).
void LogAttemptFailed(const std::string& target, int attempt, const std::string& error) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char ts[64];
  const size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof ts - n, ".%03lldZ", static_cast<long long>(millis));
  std::string escaped;
  for (char c : error) escaped += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  std::cerr << "{\"level\":\"warn\",\"ts\":\"" << ts
            << "\",\"caller\":\"clientv3/retry_interceptor.go:62\",\"msg\":\"retrying of unary invoker "
               "failed\",\"target\":\"" << target << "\",\"attempt\":" << attempt << ",\"error\":\"" << escaped
            << "\"}\n";
}

// A random UUID (v4) in text form, as grpc-go names a client's resolver target.
std::string RandomUuid() {
  std::random_device random;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%04x%08x", random(), random() & 0xffff, random() & 0xfff,
                (random() & 0x3fff) | 0x8000, random() & 0xffff, random());
  return buf;
}

std::string EnvName(const std::string& flag) {
  std::string name = "ETCDCTL_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

// etcd's pkg/flags SetPflagsFromEnv over the global flags: a variable fills its flag
// unless the flag was given; given both, etcd refuses; unknown ETCDCTL_* are reported.
void ApplyEnvironment(Command& command) {
  std::vector<std::string> used;
  std::vector<std::string> shadowed;
  for (Flag* flag : command.InheritedFlags()) {
    const std::string key = EnvName(flag->name);
    if (flag->changed) {
      shadowed.push_back(key);
      continue;
    }
    const char* value = std::getenv(key.c_str());
    if (value == nullptr || *value == '\0') continue;
    used.push_back(key);
    flag->value = flag->type == FlagType::kStringSlice ? "[" + std::string(value) + "]" : value;
    flag->changed = true;
  }
  for (char** env = environ; *env != nullptr; ++env) {
    const std::string entry = *env;
    const std::string key = entry.substr(0, entry.find('='));
    if (std::find(used.begin(), used.end(), key) != used.end()) continue;
    if (std::find(shadowed.begin(), shadowed.end(), key) != shadowed.end()) {
      std::cerr << LogTime() << " C | pkg/flags: conflicting environment variable \"" << key
                << "\" is shadowed by corresponding command-line flag (either unset environment "
                   "variable or disable flag)\n";
      Exit(1);
    }
    if (entry.rfind("ETCDCTL_", 0) == 0 && key != "ETCDCTL_WATCH_KEY" && key != "ETCDCTL_WATCH_RANGE_END")
      std::cerr << LogTime() << " W | pkg/flags: unrecognized environment variable " << entry << "\n";
  }
}

}  // namespace

void Exit(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::cout.flush();
  _exit(code);
}

void ExitWithError(int code, const std::string& message) {
  std::cout.flush();
  std::cerr << "Error: " << message << "\n";
  Exit(code);
}

void AddGlobalFlags(Command& root) {
  using T = FlagType;
  root.AddPersistentFlag("endpoints", "", T::kStringSlice, "[127.0.0.1:2379]", "gRPC endpoints");
  root.AddPersistentFlag("debug", "", T::kBool, "false", "enable client-side debug logging");
  root.AddPersistentFlag("write-out", "w", T::kString, "simple",
                         "set the output format (fields, json, protobuf, simple, table)");
  root.AddPersistentFlag("hex", "", T::kBool, "false", "print byte strings as hex encoded strings");
  root.AddPersistentFlag("dial-timeout", "", T::kDuration, "2s", "dial timeout for client connections");
  root.AddPersistentFlag("command-timeout", "", T::kDuration, "5s",
                         "timeout for short running command (excluding dial timeout)");
  root.AddPersistentFlag("keepalive-time", "", T::kDuration, "2s", "keepalive time for client connections");
  root.AddPersistentFlag("keepalive-timeout", "", T::kDuration, "6s",
                         "keepalive timeout for client connections");
  root.AddPersistentFlag("insecure-transport", "", T::kBool, "true",
                         "disable transport security for client connections");
  root.AddPersistentFlag("insecure-discovery", "", T::kBool, "true",
                         "accept insecure SRV records describing cluster endpoints");
  root.AddPersistentFlag("insecure-skip-tls-verify", "", T::kBool, "false",
                         "skip server certificate verification (CAUTION: this option should be "
                         "enabled only for testing purposes)");
  root.AddPersistentFlag("cert", "", T::kString, "", "identify secure client using this TLS certificate file");
  root.AddPersistentFlag("key", "", T::kString, "", "identify secure client using this TLS key file");
  root.AddPersistentFlag("cacert", "", T::kString, "",
                         "verify certificates of TLS-enabled secure servers using this CA bundle");
  root.AddPersistentFlag("user", "", T::kString, "",
                         "username[:password] for authentication (prompt if password is not supplied)");
  root.AddPersistentFlag("password", "", T::kString, "",
                         "password for authentication (if this option is used, --user option "
                         "shouldn't include password)");
  root.AddPersistentFlag("discovery-srv", "d", T::kString, "",
                         "domain name to query for SRV records describing cluster endpoints");
  root.AddPersistentFlag("discovery-srv-name", "", T::kString, "",
                         "service name to query when using DNS discovery");
}

Printer& Display() {
  if (!g_display) g_display = NewPrinter("simple", false);
  return *g_display;
}

void InitDisplay(Command& command) {
  g_display = NewPrinter(command.GetString("write-out"), command.GetBool("hex"));
  if (!g_display) ExitWithError(kExitBadFeature, "unsupported output format");
}

int64_t CommandTimeoutMs(Command& command) { return command.GetDurationMs("command-timeout"); }

client::Config MustClientConfig(Command& command) {
  ApplyEnvironment(command);
  if (command.GetBool("debug")) {
    for (Flag* flag : command.InheritedFlags()) std::cerr << EnvName(flag->name) << "=" << flag->value << "\n";
  }
  // Refused rather than ignored: endpoints silently taken from --endpoints instead of DNS
  // would point the command at the wrong cluster.
  if (!command.GetString("discovery-srv").empty())
    ExitWithError(kExitBadFeature, "DNS SRV discovery (--discovery-srv) is not supported by etcppctl");
  client::Config config;
  config.endpoints = command.GetStringSlice("endpoints");
  config.dial_timeout = std::chrono::milliseconds(command.GetDurationMs("dial-timeout"));
  config.request_timeout = std::chrono::milliseconds(CommandTimeoutMs(command));
  config.keepalive_time = std::chrono::milliseconds(command.GetDurationMs("keepalive-time"));
  config.keepalive_timeout = std::chrono::milliseconds(command.GetDurationMs("keepalive-timeout"));
  for (const char* name : {"cert", "key", "cacert"}) {
    if (command.GetString(name).empty() && command.Changed(name))
      ExitWithError(kExitBadArgs, std::string("empty string is passed to --") + name + " option");
  }
  const std::string cert = command.GetString("cert"), key = command.GetString("key"),
                    cacert = command.GetString("cacert");
  if (!cert.empty() || !key.empty() || !cacert.empty() ||
      !command.GetBool("insecure-transport")) {
    client::TlsConfig tls;
    tls.ca_file = cacert;
    tls.cert_file = cert;
    tls.key_file = key;
    tls.skip_verify = command.GetBool("insecure-skip-tls-verify");
    config.tls = tls;
  }
  const std::string user = command.GetString("user");
  if (!user.empty()) {
    std::string password = command.GetString("password");
    config.username = user;
    if (password.empty()) {
      const size_t colon = user.find(':');
      if (colon != std::string::npos) {
        config.username = user.substr(0, colon);
        password = user.substr(colon + 1);
      } else {
        const char* typed = getpass("Password: ");
        password = typed == nullptr ? "" : typed;
      }
    }
    config.password = password;
  }
  config.on_attempt_failed = [](const std::string& endpoint, int attempt, const std::string& error) {
    LogAttemptFailed("endpoint://client-" + RandomUuid() + "/" + endpoint, attempt, error);
  };
  InitDisplay(command);
  return config;
}

std::unique_ptr<client::Client> MustClient(Command& command) {
  auto client = client::Client::Connect(MustClientConfig(command));
  if (!client.ok()) ExitWithError(kExitBadConnection, client.status().message());
  return std::move(client.value());
}

}  // namespace etcpp::ctl
