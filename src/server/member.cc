#include "server/member.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>

namespace etcpp::server {
namespace {

uint64_t FirstEightBytes(const std::string& bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | digest[i];
  return id;
}

struct Count {
  int voters = 0;
  int started = 0;
};

Count CountVoters(const std::vector<serverpb::Member>& members, uint64_t except = 0) {
  Count count;
  for (const auto& m : members) {
    if (m.is_learner() || m.id() == except) continue;
    ++count.voters;
    if (!m.name().empty()) ++count.started;
  }
  return count;
}

bool QuorumStarted(int voters, int started) { return started >= voters / 2 + 1; }

}  // namespace

uint64_t ComputeMemberId(std::vector<std::string> peer_urls, const std::string& token,
                         std::optional<int64_t> unix_time) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string bytes;
  for (const auto& url : peer_urls) bytes += url;
  bytes += token;
  if (unix_time) bytes += std::to_string(*unix_time);
  return FirstEightBytes(bytes);
}

uint64_t ComputeClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string bytes;
  for (uint64_t id : member_ids) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes += static_cast<char>(id >> shift);
  }
  return FirstEightBytes(bytes);
}

base::Result<std::vector<serverpb::Member>> ParseInitialCluster(const std::string& initial_cluster,
                                                                const std::string& token) {
  std::map<std::string, std::vector<std::string>> urls_by_name;
  size_t start = 0;
  while (start <= initial_cluster.size()) {
    size_t comma = initial_cluster.find(',', start);
    std::string item = initial_cluster.substr(start, comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return base::Status(base::Code::kInvalidArgument,
                          "invalid --initial-cluster entry \"" + item + "\": want name=URL");
    }
    urls_by_name[item.substr(0, eq)].push_back(item.substr(eq + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<serverpb::Member> members;
  for (auto& [name, urls] : urls_by_name) {
    serverpb::Member member;
    member.set_id(ComputeMemberId(urls, token));
    member.set_name(name);
    std::sort(urls.begin(), urls.end());
    for (const auto& url : urls) member.add_peer_urls(url);
    members.push_back(std::move(member));
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  for (size_t i = 1; i < members.size(); ++i) {
    if (members[i].id() == members[i - 1].id()) {
      return base::Status(base::Code::kInvalidArgument,
                          "--initial-cluster has duplicate member id " + IdHex(members[i].id()));
    }
  }
  return members;
}

std::string IdHex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string MemberKey(uint64_t id) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(id >> (56 - 8 * i));
  return key;
}

std::string RemovedMemberKey(uint64_t id) { return "r" + MemberKey(id); }

bool IsRemovedMemberKey(std::string_view key) { return key.size() == 9 && key[0] == 'r'; }

uint64_t RemovedMemberId(std::string_view key) {
  uint64_t id = 0;
  for (size_t i = 1; i < 9; ++i) id = (id << 8) | static_cast<unsigned char>(key[i]);
  return id;
}

bool ReadyToAddVoter(const std::vector<serverpb::Member>& members) {
  Count count = CountVoters(members);
  if (count.voters == 1 && count.started == 1) return true;
  return QuorumStarted(count.voters + 1, count.started);
}

bool ReadyToRemoveVoter(const std::vector<serverpb::Member>& members, uint64_t id) {
  Count count = CountVoters(members, id);
  return QuorumStarted(count.voters, count.started);
}

bool ReadyToPromote(const std::vector<serverpb::Member>& members) {
  Count count = CountVoters(members);
  return QuorumStarted(count.voters + 1, count.started + 1);
}

}  // namespace etcpp::server
