// Members and ids, computed exactly as etcd computes them so that a cluster started with
// the same flags has the same member and cluster ids as etcd would give it (operators'
// scripts and our differential tests compare them).
//
//   member id  = first 8 bytes (big-endian) of SHA-1(sorted peer URLs joined ""
//                + initial cluster token [+ unix time for members added at runtime])
//   cluster id = first 8 bytes of SHA-1(the sorted member ids, 8 bytes big-endian each)
//
// Example: etcd's defaults (default=http://localhost:2380, token etcd-cluster) give member
// 8e9e05c52164694d in cluster cdf818194e3a8c32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "etcpp/serverpb.pb.h"

namespace etcpp::server {

uint64_t ComputeMemberId(std::vector<std::string> peer_urls, const std::string& token,
                         std::optional<int64_t> unix_time = std::nullopt);
uint64_t ComputeClusterId(std::vector<uint64_t> member_ids);

// Parses --initial-cluster ("name=url,name=url2,other=url3"): one member per name, with
// all its URLs, ids from ComputeMemberId. Ordered by id.
base::Result<std::vector<serverpb::Member>> ParseInitialCluster(const std::string& initial_cluster,
                                                                const std::string& token);

// Keys of the backend's `members` bucket: a member's record under its id (8 bytes,
// big-endian), a removed member's tombstone under "r" + its id.
std::string MemberKey(uint64_t id);
std::string RemovedMemberKey(uint64_t id);
bool IsRemovedMemberKey(std::string_view key);
uint64_t RemovedMemberId(std::string_view key);

// etcd's --strict-reconfig-check quorum rules on the members as applied, where a member
// has started once it has published its name: a change is refused when the started
// voters would not make a quorum of the voters after it. Adding a second member to a
// cluster of one is allowed (how a cluster restored from a snapshot grows), and the
// learner being promoted counts as started.
bool ReadyToAddVoter(const std::vector<serverpb::Member>& members);
bool ReadyToRemoveVoter(const std::vector<serverpb::Member>& members, uint64_t id);
bool ReadyToPromote(const std::vector<serverpb::Member>& members);

// Lower-case hex without leading zeros, as etcd prints ids ("8e9e05c52164694d").
std::string IdHex(uint64_t id);

}  // namespace etcpp::server
