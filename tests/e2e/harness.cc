#include "tests/e2e/harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace etcpp::e2e {

namespace fs = std::filesystem;

namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> Environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  // Tests must not inherit an operator's etcd settings.
  for (auto it = env.begin(); it != env.end();) {
    it = (it->first.rfind("ETCD", 0) == 0) ? env.erase(it) : std::next(it);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

pid_t Spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
            int stdin_fd, int stdout_fd, int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  std::vector<std::string> envs = Environment(env);
  auto c_argv = CStrings(argv);
  auto c_env = CStrings(envs);
  pid_t pid = -1;
  if (posix_spawnp(&pid, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int WaitExit(pid_t pid, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

CommandResult Run(const std::vector<std::string>& argv, const std::string& input,
                  const std::map<std::string, std::string>& env, int timeout_s) {
  TempDir dir;
  std::string in_path = dir.path() + "/in", out_path = dir.path() + "/out",
              err_path = dir.path() + "/err";
  std::ofstream(in_path) << input;
  int in = open(in_path.c_str(), O_RDONLY);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = Spawn(argv, env, in, out, err);
  close(in);
  close(out);
  close(err);
  CommandResult result;
  if (pid < 0) {
    result.err = "cannot start " + argv[0];
    return result;
  }
  result.exit_code = WaitExit(pid, timeout_s);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "etcpp-e2e-XXXXXX").string();
  path_ = mkdtemp(pattern.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Server::Server(Kind kind, const std::string& data_dir, const std::vector<std::string>& extra,
               int peer_port, const std::string& name, int client_port, bool wait) {
  client_port_ = client_port != 0 ? client_port : FreePort();
  if (peer_port == 0) peer_port = FreePort();
  std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  std::vector<std::string> argv = {kind == Kind::kEtcpp ? EtcppBinary() : "etcd",
                                   "--name", name,
                                   "--data-dir", data_dir,
                                   "--listen-client-urls", client,
                                   "--advertise-client-urls", client,
                                   "--listen-peer-urls", peer,
                                   "--initial-advertise-peer-urls", peer,
                                   "--initial-cluster", name + "=" + peer};
  if (kind == Kind::kEtcd) argv.insert(argv.end(), {"--logger", "zap", "--log-outputs", "stderr"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  log_path_ = data_dir + ".log";
  Launch(argv, {}, wait);
}

Server::Server(const std::vector<std::string>& argv, const std::string& log_path, int client_port,
               const std::map<std::string, std::string>& env)
    : client_port_(client_port), log_path_(log_path) {
  Launch(argv, env, true);
}

void Server::Launch(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                    bool wait) {
  int null_fd = open("/dev/null", O_RDONLY);
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_ = Spawn(argv, env, null_fd, log_fd, log_fd);
  close(null_fd);
  close(log_fd);
  if (wait) WaitHealthy();
}

bool Server::WaitHealthy(int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (Running() && std::chrono::steady_clock::now() < deadline) {
    auto health = Run({"curl", "-s", "-m", "1", url() + "/health"}, "", {}, 5);
    if (health.out.find("\"health\":\"true\"") != std::string::npos) {
      healthy_ = true;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool Server::Running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

Server::~Server() { Stop(SIGKILL); }

int Server::Stop(int signal) {
  if (pid_ <= 0) return exit_code_;
  // A stopped process would only act on the signal once continued.
  if (paused_) Resume();
  kill(pid_, signal);
  exit_code_ = WaitExit(pid_, 20);
  pid_ = -1;
  return exit_code_;
}

void Server::Pause() {
  if (pid_ <= 0 || paused_) return;
  kill(pid_, SIGSTOP);
  paused_ = true;
}

void Server::Resume() {
  if (pid_ <= 0 || !paused_) return;
  kill(pid_, SIGCONT);
  paused_ = false;
}

CommandResult Server::Etcdctl(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {"etcdctl", "--endpoints", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, input, {{"ETCDCTL_API", "3"}});
}

std::string Server::Log() const { return ReadFile(log_path_); }

std::string EtcppBinary() { return ETCPP_BINARY; }

SideBySideRun RunSideBySide(const std::function<std::string(const Server&)>& session,
                            const std::vector<std::string>& flags) {
  SideBySideRun run;
  TempDir dir;
  int peer_port = FreePort();
  {
    Server etcd(Server::Kind::kEtcd, dir.path() + "/etcd", flags, peer_port);
    if (!etcd.Healthy()) {
      run.failure = "etcd did not become healthy:\n" + etcd.Log();
      return run;
    }
    run.etcd = session(etcd);
  }
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp", flags, peer_port);
  if (!etcpp.Healthy()) {
    run.failure = "etcpp did not become healthy:\n" + etcpp.Log();
    return run;
  }
  run.etcpp = session(etcpp);
  run.etcpp_log = etcpp.Log();
  return run;
}

}  // namespace etcpp::e2e
