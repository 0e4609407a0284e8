// Config validation and role names (see config.h, types.h).
#include "raft/config.h"

#include "raft/types.h"

namespace etcpp::raft {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

base::Status Config::Validate() const {
  using base::Code;
  if (id == kNone) return base::Status(Code::kInvalidArgument, "raft: id must not be 0");
  if (heartbeat_ticks <= 0) {
    return base::Status(Code::kInvalidArgument, "raft: heartbeat_ticks must be positive");
  }
  // A leader must get several heartbeats out per election timeout, or followers time
  // out while the leader is healthy.
  if (election_ticks <= heartbeat_ticks) {
    return base::Status(Code::kInvalidArgument,
                        "raft: election_ticks must be greater than heartbeat_ticks");
  }
  if (storage == nullptr) return base::Status(Code::kInvalidArgument, "raft: storage is null");
  if (inflight_messages_max == 0) {
    return base::Status(Code::kInvalidArgument, "raft: inflight_messages_max must be positive");
  }
  if (append_bytes_max == 0 || committed_bytes_per_ready_max == 0) {
    return base::Status(Code::kInvalidArgument, "raft: byte limits must be positive");
  }
  return base::Status::Ok();
}

}  // namespace etcpp::raft
