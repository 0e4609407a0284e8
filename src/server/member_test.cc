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

}  // namespace
}  // namespace etcpp::server
