// ReadOnly: the leader's linearizable reads waiting for leadership to be confirmed.
// Each request remembers the commit index when it arrived; the leader sends one
// heartbeat round carrying the newest request's context, and once a quorum of voters
// has answered that round every request up to and including it is safe to serve at its
// recorded index (nobody else can have committed anything newer meanwhile).
//
// Example: requests a (index 7), b (index 9) queued; the heartbeat for b is answered by
// a quorum -> both a and b are released, a at 7 and b at 9.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace etcpp::raft {

struct ReadIndexRequest {
  std::string context;
  uint64_t from;   // who asked: the leader itself or a follower it answers
  uint64_t index;  // the leader's commit index when the request arrived
};

class ReadOnly {
 public:
  // Returns false if a request with this context is already pending (it will be
  // answered with that one).
  bool Add(uint64_t index, uint64_t from, const std::string& context);
  // Voter `id` answered the heartbeat round carrying `context`; returns the set of ids
  // that have answered it so far (empty if the context is unknown).
  const std::set<uint64_t>* RecordAck(uint64_t id, const std::string& context);
  // Releases every request up to and including the one with `context`.
  std::vector<ReadIndexRequest> ReleaseThrough(const std::string& context);
  const std::string* LastPendingContext() const;
  void Clear();

 private:
  std::deque<std::string> queue_;  // contexts in arrival order
  std::map<std::string, std::pair<ReadIndexRequest, std::set<uint64_t>>> pending_;
};

}  // namespace etcpp::raft
