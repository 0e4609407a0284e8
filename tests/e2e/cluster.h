// A cluster of real etcpp processes on loopback for process-level tests: members with
// data dirs and ports that survive restarts (clients reconnect to the same address),
// started together, driven with Debian's etcdctl. Owned by the test's main thread;
// other threads may only read endpoints.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {

struct Member {
  std::string name;
  int peer_port = 0;
  int client_port = 0;
  std::string data_dir;
  std::unique_ptr<Server> server;
  std::string peer_url() const { return "http://127.0.0.1:" + std::to_string(peer_port); }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port); }
};

class Cluster {
 public:
  Cluster(int size, std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    for (int i = 1; i <= size; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.peer_port = FreePort();
      m.client_port = FreePort();
      m.data_dir = dir_.path() + "/" + m.name;
      members_.push_back(std::move(m));
    }
    for (auto& m : members_) Start(m, "new");
    for (auto& m : members_) EXPECT_TRUE(m.server->WaitHealthy(30)) << m.server->Log();
  }

  std::string InitialCluster() const {
    std::string out;
    for (const auto& m : members_) {
      out += (out.empty() ? "" : ",") + m.name + "=" + m.peer_url();
    }
    return out;
  }

  void Start(Member& m, const std::string& state) {
    std::vector<std::string> flags = {"--initial-cluster", InitialCluster(),
                                      "--initial-cluster-state", state};
    flags.insert(flags.end(), extra_.begin(), extra_.end());
    m.server.reset();  // the old process (if any) is gone first
    m.server = std::make_unique<Server>(Server::Kind::kEtcpp, m.data_dir, flags, m.peer_port,
                                        m.name, m.client_port, /*wait=*/false);
  }

  std::string Endpoints() const {
    std::string out;
    for (const auto& m : members_) {
      if (m.server && m.server->Running()) out += (out.empty() ? "" : ",") + m.endpoint();
    }
    return out;
  }

  CommandResult Ctl(const std::vector<std::string>& args, const std::string& endpoints = "") {
    std::vector<std::string> argv = {"etcdctl", "--endpoints",
                                     endpoints.empty() ? Endpoints() : endpoints,
                                     "--command-timeout", "15s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, "", {{"ETCDCTL_API", "3"}}, 60);
  }

  // A membership change, retried while the member asked has not yet been connected to
  // every voter for etcd's health interval (--strict-reconfig-check; 5 s after start).
  CommandResult Reconfigure(const std::vector<std::string>& args, const std::string& endpoints = "") {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    CommandResult result = Ctl(args, endpoints);
    while (result.err.find("etcdserver: unhealthy cluster") != std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      result = Ctl(args, endpoints);
    }
    return result;
  }

  // The running member that says it leads, waiting up to `seconds` for one.
  Member* Leader(int seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& m : members_) {
        if (!m.server || !m.server->Running()) continue;
        auto status = Ctl({"endpoint", "status", "-w", "fields"}, m.endpoint());
        std::smatch id, leader;
        if (std::regex_search(status.out, id, std::regex("\"MemberID\" : (\\d+)")) &&
            std::regex_search(status.out, leader, std::regex("\"Leader\" : (\\d+)")) &&
            id[1] == leader[1]) {
          return &m;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return nullptr;
  }

  // The value of `key` read locally (serializable) on `m`, polled until it equals
  // `want` or `seconds` pass.
  bool Converges(Member& m, const std::string& key, const std::string& want, int seconds = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = Ctl({"get", key, "--print-value-only", "--consistency=s"}, m.endpoint());
      if (got.exit_code == 0 && got.out == want + "\n") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // How many keys under `prefix` `m` holds (read locally).
  int CountKeys(Member& m, const std::string& prefix) {
    auto keys = Ctl({"get", prefix, "--prefix", "--keys-only", "--consistency=s"}, m.endpoint());
    int n = 0;
    for (size_t at = 0; (at = keys.out.find(prefix, at)) != std::string::npos; ++at) {
      if (at == 0 || keys.out[at - 1] == '\n') ++n;
    }
    return n;
  }

  std::string MemberId(const Member& m) {
    auto list = Ctl({"member", "list"});
    std::smatch match;
    std::regex line("(?:^|\\n)\\s*([0-9a-f]+), [a-z]+, " + m.name + ",");
    return std::regex_search(list.out, match, line) ? match[1].str() : "";
  }

  // Waits until `observer` logged that its stream to `peer` went down.
  bool SeesInactive(Member& observer, const std::string& peer_id, int seconds = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::regex line("peer became inactive[^\\n]*\"peer-id\":\"" + peer_id + "\"");
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::regex_search(observer.server->Log(), line)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::vector<Member> members_;
  std::vector<std::string> extra_;  // flags of every member (re)started from now on

 private:
  TempDir dir_;
};

}  // namespace etcpp::e2e
