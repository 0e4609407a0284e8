// The clients of a chaos run: threads that each own a gRPC channel and issue put, get,
// delete, compare-and-set txns and range counts on a few keys, one at a time with a
// deadline, recording every operation with its invoke and complete times.
//
// How outcomes are recorded: an answered call is kOk; a read that failed is kFailed (it
// changed nothing); a write that timed out or lost its connection is kUnknown (it may
// still be applied), and so is any write error we cannot prove was a refusal.
//
// Planted bug (`plant_stale_read`): some reads are answered by the workload itself from
// the first answer it ever got for that key, never asking the server. The checker must
// flag the run; it proves the history really goes through the checker. With
// `serializable_reads`, gets and counts are served from the answering member's local
// state without a ReadIndex — the same bug in the server's clothes: a member cut off
// from the leader answers stale reads, so it shows that partitions bite.
//
// Start, Stop and history are for the owning thread; the client threads share only the
// history (under a mutex) and the planted cache (under the same mutex).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/chaos/history.h"

namespace etcpp::chaos {

struct WorkloadOptions {
  int clients = 4;
  uint64_t seed = 1;
  // Keys under `prefix`; range counts cover the whole prefix.
  std::string prefix = "chaos/";
  int keys = 3;
  int64_t deadline_ms = 1000;
  bool plant_stale_read = false;
  bool serializable_reads = false;
};

class Workload {
 public:
  Workload(std::vector<std::string> endpoints, WorkloadOptions options);
  ~Workload();
  void Start();
  // Stops and joins the clients.
  void Stop();
  // Reads every key once, after the run, so the final state is checked too (writes
  // acknowledged before a crash must still be there). Client id: `clients`.
  void FinalReads();
  History history() const;
  int planted_reads() const { return planted_reads_.load(); }

 private:
  // What one client last saw of a key, for its compare-and-set arguments.
  struct Seen {
    std::string value;
    int64_t mod_revision = 0;  // 0: absent (or never seen)
  };
  void Client(int id);
  Operation Choose(int client, int n, std::mt19937_64& random,
                   const std::map<std::string, Seen>& seen) const;
  bool ServePlanted(Operation& op, std::mt19937_64& random);
  void Record(const Operation& op);
  std::string Key(int i) const;
  std::string CountEnd() const;

  const std::vector<std::string> endpoints_;
  const WorkloadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> planted_reads_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  History history_;                            // guarded by mu_
  std::map<std::string, Operation> first_read_;  // guarded by mu_; the planted bug's cache
};

// Nanoseconds on the monotonic clock all histories use.
int64_t NowNs();

}  // namespace etcpp::chaos
