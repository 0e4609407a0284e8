#include "server/member.h"

#include <gtest/gtest.h>

namespace etcpp::server {
namespace {

// Ids that real etcd 3.4 prints for the same flags.
TEST(Member, IdsEqualEtcdsForItsDefaults) {
  auto members = ParseInitialCluster("default=http://localhost:2380", "etcd-cluster");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ(IdHex((*members)[0].id()), "8e9e05c52164694d");
  EXPECT_EQ(IdHex(ComputeClusterId({(*members)[0].id()})), "cdf818194e3a8c32");
}

TEST(Member, GroupsUrlsByNameAndOrdersById) {
  auto members = ParseInitialCluster(
      "a=http://127.0.0.1:2380,b=http://127.0.0.1:2480,a=http://127.0.0.2:2380", "tok");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_LT((*members)[0].id(), (*members)[1].id());
  for (const auto& m : *members) {
    EXPECT_EQ(m.peer_urls_size(), m.name() == "a" ? 2 : 1);
  }
  EXPECT_EQ(ComputeMemberId({"http://127.0.0.2:2380", "http://127.0.0.1:2380"}, "tok"),
            ComputeMemberId({"http://127.0.0.1:2380", "http://127.0.0.2:2380"}, "tok"))
      << "URL order does not matter";
  EXPECT_NE(ComputeMemberId({"http://127.0.0.1:2380"}, "tok"),
            ComputeMemberId({"http://127.0.0.1:2380"}, "tok", 1700000000))
      << "a runtime-added member's id includes the time";
}

TEST(Member, MalformedInitialClusterIsRefused) {
  for (const char* bad : {"", "nourl", "=http://x:1", "a=", "a=http://x:1,,b=http://y:1"}) {
    auto members = ParseInitialCluster(bad, "tok");
    EXPECT_FALSE(members.ok()) << bad;
  }
  auto dup = ParseInitialCluster("a=http://x:1,b=http://x:1", "tok");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate member id"), std::string::npos);
}

serverpb::Member Voter(uint64_t id, bool started) {
  serverpb::Member m;
  m.set_id(id);
  if (started) m.set_name("m" + std::to_string(id));
  return m;
}

// The cases etcd's --strict-reconfig-check distinguishes (its RaftCluster.IsReadyTo*).
TEST(Member, StrictReconfigQuorumRules) {
  std::vector<serverpb::Member> one = {Voter(1, true)};
  EXPECT_TRUE(ReadyToAddVoter(one)) << "a second member for a cluster of one";

  std::vector<serverpb::Member> two_one_started = {Voter(1, true), Voter(2, false)};
  EXPECT_FALSE(ReadyToAddVoter(two_one_started)) << "1 started of 3 voters after the add";

  std::vector<serverpb::Member> three = {Voter(1, true), Voter(2, true), Voter(3, true)};
  EXPECT_TRUE(ReadyToAddVoter(three));
  EXPECT_TRUE(ReadyToRemoveVoter(three, 3));

  std::vector<serverpb::Member> three_one_started = {Voter(1, true), Voter(2, false), Voter(3, false)};
  EXPECT_FALSE(ReadyToAddVoter(three_one_started));
  EXPECT_FALSE(ReadyToRemoveVoter(three_one_started, 1)) << "0 started of the 2 left";
  EXPECT_TRUE(ReadyToRemoveVoter({Voter(1, true), Voter(2, true), Voter(3, false)}, 3));

  serverpb::Member learner = Voter(4, false);
  learner.set_is_learner(true);
  std::vector<serverpb::Member> with_learner = {Voter(1, true), Voter(2, false), learner};
  EXPECT_TRUE(ReadyToPromote(with_learner)) << "2 of 3 started, counting the learner";
  EXPECT_FALSE(ReadyToPromote({Voter(1, true), Voter(2, false), Voter(3, false), learner}));
}

}  // namespace
}  // namespace etcpp::server
