#include "client/etcd_for_testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace etcpp::client {

int EtcdForTesting::UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

EtcdForTesting::EtcdForTesting(std::vector<std::string> extra_flags) : extra_flags_(std::move(extra_flags)) {
  char pattern[] = "/tmp/etcpp-client-test-XXXXXX";
  dir_ = mkdtemp(pattern);
  endpoint_ = "127.0.0.1:" + std::to_string(UnusedPort());
  peer_port_ = UnusedPort();
}

EtcdForTesting::~EtcdForTesting() {
  Stop();
  std::filesystem::remove_all(dir_);
}

bool EtcdForTesting::Start() {
  const char* server = std::getenv("ETCPP_TEST_SERVER");
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args = {server != nullptr ? server : "/usr/bin/etcd",
                                   "--name=test",
                                   "--data-dir=" + dir_ + "/data",
                                   "--listen-client-urls=http://" + endpoint_,
                                   "--advertise-client-urls=http://" + endpoint_,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=test=" + peer};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  const std::string log = dir_ + "/etcd.log";
  pid_ = fork();
  if (pid_ == 0) {
    // If the test process dies (a crash, a kill), etcd dies with it instead of lingering.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (freopen(log.c_str(), "a", stdout) == nullptr || freopen(log.c_str(), "a", stderr) == nullptr) _exit(126);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Ready when the client port accepts connections and /health would answer; a TCP
  // connect is enough because etcd opens the port after it has joined its cluster.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint_.substr(endpoint_.find(':') + 1))));
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    if (up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void EtcdForTesting::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (waitpid(pid_, &status, WNOHANG) == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

}  // namespace etcpp::client
