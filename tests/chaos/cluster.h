// The members under test: real etcd or etcpp processes on loopback, each with a data
// dir and ports that survive restarts (so clients reconnect to the same address). A
// list, so the nemesis is written for clusters; today it holds one member, because
// etcpp does not serve multi-member clusters yet.
//
// Owned by one thread (the run's main thread and then the nemesis thread, one at a
// time); clients only read the endpoints, which never change.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace etcpp::chaos {

class Cluster {
 public:
  // `dir` holds each member's data dir and its log, which accumulates over restarts.
  Cluster(e2e::Server::Kind kind, const std::string& dir, int members);
  ~Cluster();

  // Starts every member; false (with the reason in the logs) if one is not healthy.
  bool Start();
  int size() const { return static_cast<int>(members_.size()); }
  std::vector<std::string> Endpoints() const;

  // kill -9, then start again on the same data dir and ports; false if it does not
  // come back healthy.
  bool KillAndRestart(int member);
  void Pause(int member);
  void Resume(int member);
  // Continues paused members, so the run can end with everyone answering.
  void ResumeAll();
  // Member i's log over all of its lives, the running one included.
  std::string Log(int member) const;

 private:
  struct Member {
    std::string name;
    std::string data_dir;
    int peer_port = 0;
    int client_port = 0;
    std::unique_ptr<e2e::Server> server;
  };
  bool Launch(Member& member);
  // Appends the log of the process that just ended to the member's accumulated log.
  void SaveLog(int member);
  std::string SavedLogPath(int member) const;

  e2e::Server::Kind kind_;
  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace etcpp::chaos
