// The members under test: real etcd or etcpp processes on loopback, each with a data
// dir and ports that survive restarts (so clients reconnect to the same address).
//
// With more than one member, every peer link goes through a fault-injecting proxy
// (proxy.h), one per directed link i -> j. Member IDs are derived from the peer URLs, so
// every member must be given the same URLs; the URLs therefore name hosts
// (m<j>.etcpp-chaos:<port j>) and each member runs in a mount namespace of its own whose
// /etc/hosts resolves them its own way:
//   member i listens for peers on 127.0.<i+1>.<i+1>:<port i>;
//   in member i's namespace, m<j>.etcpp-chaos is 127.0.<i+1>.<j+1>, where the proxy of
//   link i -> j listens and forwards to 127.0.<j+1>.<j+1>:<port j>.
// So every connection member i opens to member j crosses the proxy of link i -> j, and
// nothing else does. (Needs root for `unshare -m` and the bind mount.)
//
// Owned by one thread (the run's main thread and then the nemesis thread, one at a
// time); clients only read the endpoints, which never change.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/chaos/proxy.h"
#include "tests/e2e/harness.h"

namespace etcpp::chaos {

class Cluster {
 public:
  // `dir` holds each member's data dir and its log, which accumulates over restarts.
  Cluster(e2e::Server::Kind kind, const std::string& dir, int members, uint64_t seed);
  ~Cluster();

  // Starts every member; false (with the reason in the logs) if one is not healthy.
  bool Start();
  int size() const { return static_cast<int>(members_.size()); }
  std::vector<std::string> Endpoints() const;

  // kill -9 of each member given, then, all together, start again on the same data dirs
  // and ports; false if one does not come back healthy.
  bool KillAndRestart(const std::vector<int>& members);
  void Kill(const std::vector<int>& members);
  // With `failpoints`, the members run with ETCPP_FAILPOINTS set to it (failpoint.h).
  bool Restart(const std::vector<int>& members, const std::string& failpoints = "");
  // A membership change: `member` is removed from the cluster (asked of the others),
  // killed, its data dir wiped, added back (under a new member ID) and started empty
  // with --initial-cluster-state existing, to catch up from the leader. False, with
  // `failure` set, if a step did not succeed within its time.
  bool Replace(int member, std::string& failure);
  // Whether the member's process ended on its own (a crash at a failpoint).
  bool Exited(int member) { return !members_[member].server->Running(); }
  void Pause(int member);
  void Resume(int member);
  // Continues paused members, so the run can end with everyone answering.
  void ResumeAll();
  // The member the others follow (asked over Maintenance.Status), or -1 if none is known.
  int Leader();
  // The peer links' proxies; null with one member.
  Proxies* proxies() { return proxies_.get(); }
  // Member i's log over all of its lives, the running one included.
  std::string Log(int member) const;

 private:
  struct Member {
    std::string name;
    std::string data_dir;
    int peer_port = 0;
    int client_port = 0;
    bool joined = false;  // added by Replace: started with --initial-cluster-state existing
    std::unique_ptr<e2e::Server> server;
  };
  bool Launch(int member, const std::string& failpoints);
  std::vector<std::string> Argv(int member) const;
  std::string PeerUrl(int member) const;
  // Appends the log of the process that just ended to the member's accumulated log.
  void SaveLog(int member);
  std::string SavedLogPath(int member) const;

  e2e::Server::Kind kind_;
  std::string dir_;
  std::vector<Member> members_;
  std::unique_ptr<Proxies> proxies_;
};

}  // namespace etcpp::chaos
