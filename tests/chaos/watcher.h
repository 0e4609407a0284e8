// The watcher of a chaos run: follows the workload's prefix on one member, and whenever
// its stream ends or stalls (a killed member, a cut link) resumes on the next member at
// the last revision it received + 1, recording every session for the watch checker.
// After the run, Reference() reads the whole history of the prefix from revision 1 on a
// healed member; Crosscheck() ties it to the clients' acknowledged writes, so the
// reference is not taken on faith from the system under test.
//
// Start and Stop are for the owning thread; the watch thread owns the sessions until
// Stop returns.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/chaos/history.h"
#include "tests/chaos/watch_checker.h"

namespace etcpp::chaos {

class Watcher {
 public:
  // Starts at `start_revision`; 0 is from now: the first stream's created revision + 1.
  Watcher(std::vector<std::string> endpoints, std::string prefix, int64_t start_revision = 1);
  ~Watcher();
  void Start();
  // Keeps following until revision `until` is delivered (or `wait_s` passed), then stops.
  void Stop(int64_t until, int wait_s);
  const std::vector<WatchSession>& sessions() const { return sessions_; }

 private:
  void Run();
  // One stream on `endpoint` from next_; appends its session. Ends when the stream
  // fails, or is cut after `stall_s` without a response (a stream to a partitioned
  // member stays open and silent), or once until_ is delivered.
  void Follow(const std::string& endpoint, int stall_s);

  const std::vector<std::string> endpoints_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> until_{0};  // 0: until stopped
  std::atomic<int64_t> next_;  // 0: from now, until a stream is created
  std::vector<WatchSession> sessions_;
  std::thread thread_;
};

// Every event under `prefix` from revision 1, read on `endpoint` (empty and false on an
// error).
bool Reference(const std::string& endpoint, const std::string& prefix, int64_t until,
               std::vector<WatchEvent>& out);

// Problems found comparing the reference with the clients' history: every
// acknowledged put and successful CAS must be in it at the revision it was told.
std::vector<std::string> Crosscheck(const std::vector<WatchEvent>& reference, const History& history);

}  // namespace etcpp::chaos
