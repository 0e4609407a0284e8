// Test support for process-level tests: real etcpp and etcd servers on free loopback
// ports in temporary data dirs, and commands (etcdctl, curl) run against them. Every
// process is killed when its owner goes out of scope, so a failing test leaves nothing
// running.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace etcpp::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after timeout_s), feeding `input` on stdin.
CommandResult Run(const std::vector<std::string>& argv, const std::string& input = "",
                  const std::map<std::string, std::string>& env = {}, int timeout_s = 30);

// A port nobody listens on now (bound and released by the kernel's choice).
int FreePort();

// A fresh directory under the test's temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One server process: etcpp (our build) or etcd (Debian's), one member on loopback.
class Server {
 public:
  enum class Kind { kEtcpp, kEtcd };
  // Starts it with etcd's flags for a single member named `name` on free ports (the
  // peer and client ports given, or free ones), plus `extra` flags, and waits until it
  // answers /health (or its process exits). Member and cluster ids follow from the name
  // and the peer URL, so two servers given the same peer port get the same ids; giving
  // the same client port too lets clients reconnect to a restarted server.
  // With `wait` false it returns at once (members of a cluster are healthy only once a
  // quorum runs): call WaitHealthy.
  Server(Kind kind, const std::string& data_dir, const std::vector<std::string>& extra = {},
         int peer_port = 0, const std::string& name = "default", int client_port = 0,
         bool wait = true);
  // Runs `argv` as given (a member of a larger cluster, or wrapped in another command
  // that execs it) with `env` added, logging to `log_path`; waits for /health on
  // `client_port` as above.
  Server(const std::vector<std::string>& argv, const std::string& log_path, int client_port,
         const std::map<std::string, std::string>& env = {});
  ~Server();

  bool Healthy() const { return healthy_; }
  // Polls /health until it says true, the process exits, or `seconds` pass.
  bool WaitHealthy(int seconds = 20);
  // Whether the process is still running (reaps it if it exited).
  bool Running();
  int client_port() const { return client_port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string url() const { return "http://" + endpoint(); }
  // etcdctl (API 3) against this server.
  CommandResult Etcdctl(const std::vector<std::string>& args, const std::string& input = "") const;
  // Sends SIGINT (graceful) or SIGKILL and waits; returns the exit status as Run does
  // (or the status it already exited with).
  int Stop(int signal);
  // SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing, like a member
  // stuck in a long GC pause or a swapped-out VM.
  void Pause();
  void Resume();
  // What the process wrote to stderr so far (its log).
  std::string Log() const;
  pid_t pid() const { return pid_; }  // for benchmarks reading /proc

 private:
  void Launch(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, bool wait);

  pid_t pid_ = -1;
  int exit_code_ = -1;
  int client_port_ = 0;
  std::string log_path_;
  bool healthy_ = false;
  bool paused_ = false;
};

// `session` against a fresh Debian etcd, then against a fresh etcpp, with the same flags
// and peer port (hence the same member and cluster ids). `failure` is empty, or names the
// server that did not become healthy, with its log.
struct SideBySideRun {
  std::string etcd;       // what the session printed against etcd
  std::string etcpp;      // … against etcpp
  std::string etcpp_log;  // etcpp's log after the session
  std::string failure;
};
SideBySideRun RunSideBySide(const std::function<std::string(const Server&)>& session,
                            const std::vector<std::string>& flags = {});

// Where our binaries are (set by CMake).
std::string EtcppBinary();

}  // namespace etcpp::e2e
