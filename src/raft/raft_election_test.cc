// Leader election: randomized timeouts, votes, the election restriction, PreVote,
// CheckQuorum and terms.
#include <gtest/gtest.h>

#include <set>

#include "raft/test_network.h"

namespace etcpp::raft {
namespace {

TEST(RaftElection, SingleVoterLeadsAsSoonAsItCampaigns) {
  TestNetwork net({1});
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), 2u);
}

TEST(RaftElection, CandidateWithAMajorityBecomesTheOnlyLeader) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  for (uint64_t id : {2, 3}) {
    EXPECT_EQ(net.raft(id).role(), Role::kFollower);
    EXPECT_EQ(net.raft(id).leader(), 1u);
    EXPECT_EQ(net.raft(id).term(), net.raft(1).term());
    EXPECT_EQ(net.raft(id).vote(), 1u);
  }
}

TEST(RaftElection, ElectionTimeoutIsRandomWithinOneToTwoTimeouts) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MemoryStorage storage;
    raftpb::ConfState cs;
    for (uint64_t id : {1, 2, 3}) cs.add_voters(id);
    raftpb::Snapshot snap;
    snap.mutable_metadata()->set_index(1);
    snap.mutable_metadata()->set_term(1);
    *snap.mutable_metadata()->mutable_conf_state() = cs;
    ASSERT_TRUE(storage.ApplySnapshot(snap).ok());
    Config c;
    c.id = 1;
    c.storage = &storage;
    c.election_ticks = 10;
    c.random_seed = seed;
    auto node = RawNode::Create(c).value();
    int ticks = 0;
    while (node->raft().role() == Role::kFollower && ticks < 100) {
      node->Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GT(seen.size(), 3u) << "timeouts must differ between members";
}

TEST(RaftElection, CandidateWithoutAMajorityDoesNotLead) {
  TestNetwork net({1, 2, 3, 4, 5});
  for (uint64_t id : {3, 4, 5}) net.Cut(1, id);
  net.Campaign(1);
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), 1u) << "a pre-vote that cannot win leaves the term alone";
}

TEST(RaftElection, AMemberVotesOncePerTerm) {
  MemoryStorage storage;
  FillLog(storage, 1, {1}, 1);
  auto node = RawNode::Create([&] {
                Config c;
                c.id = 1;
                c.storage = &storage;
                c.pre_vote = false;
                c.check_quorum = false;
                return c;
              }())
                  .value();
  raftpb::Message vote = TestMessage(raftpb::MSG_VOTE, 2, 1, 2);
  vote.set_index(1);
  vote.set_log_term(1);
  ASSERT_TRUE(node->Step(vote).ok());
  std::vector<raftpb::Message> out = ReadyMessages(*node, storage);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reject());
  EXPECT_EQ(storage.hard_state().vote(), 2u) << "the vote is persisted before the answer goes out";
  vote.set_from(3);
  ASSERT_TRUE(node->Step(vote).ok());
  out = ReadyMessages(*node, storage);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].reject());
  vote.set_from(2);  // a retransmission from the member we voted for is granted again
  ASSERT_TRUE(node->Step(vote).ok());
  out = ReadyMessages(*node, storage);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reject());
}

// The election restriction, checked with and without the planted bug so the test is
// shown to fail when the rule is broken.
void ExpectVotesFollowTheElectionRestriction(bool planted) {
  MemoryStorage storage;
  FillLog(storage, 1, {1, 2, 2}, 2);
  Config c;
  c.id = 1;
  c.storage = &storage;
  c.check_quorum = false;
  if (planted) c.planted_bug_for_testing = PlantedBug::kNoLogCheck;
  auto node = RawNode::Create(c).value();
  struct Case {
    uint64_t last_index, last_term;
    bool granted;
  } cases[] = {{9, 1, false}, {2, 2, false}, {3, 2, true}, {1, 3, true}};
  uint64_t term = 3;
  for (const Case& k : cases) {
    raftpb::Message vote = TestMessage(raftpb::MSG_VOTE, 2, 1, term++);
    vote.set_index(k.last_index);
    vote.set_log_term(k.last_term);
    ASSERT_TRUE(node->Step(vote).ok());
    std::vector<raftpb::Message> out = ReadyMessages(*node, storage);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(!out[0].reject(), k.granted || planted)
        << "candidate log ending at " << k.last_index << "/" << k.last_term;
  }
}

TEST(RaftElection, VotesGoOnlyToCandidatesWithAnUpToDateLog) {
  ExpectVotesFollowTheElectionRestriction(false);
}
TEST(RaftElection, PlantedNoLogCheckBreaksTheElectionRestriction) {
  ExpectVotesFollowTheElectionRestriction(true);
}

TEST(RaftElection, PreVoteKeepsAnIsolatedMemberFromDisruptingTheCluster) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  const uint64_t term = net.raft(1).term();
  net.Isolate(3);
  net.TickAll(100);
  EXPECT_EQ(net.raft(3).term(), term) << "pre-votes fail, so the term does not grow";
  net.HealAll();
  net.TickAll(5);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(3).leader(), 1u);
}

TEST(RaftElection, CheckQuorumDeposesALeaderThatHearsFromNoQuorum) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(1);
  net.Tick(1, 21);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), kNone);
}

TEST(RaftElection, LeaderLeaseMakesFollowersIgnoreVoteRequests) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  const uint64_t term = net.raft(1).term();
  raftpb::Message vote = TestMessage(raftpb::MSG_VOTE, 3, 2, term + 1);
  vote.set_index(100);
  vote.set_log_term(term);
  ASSERT_TRUE(net.node(2).Step(vote).ok());
  EXPECT_EQ(net.raft(2).term(), term) << "heard from the leader within the lease";
  EXPECT_EQ(net.raft(2).leader(), 1u);
  vote.set_context(kCampaignTransfer);
  ASSERT_TRUE(net.node(2).Step(vote).ok());
  EXPECT_EQ(net.raft(2).term(), term + 1) << "a transfer campaign bypasses the lease";
}

TEST(RaftElection, StaleLeaderStepsDownOnAHigherTerm) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  const uint64_t term = net.raft(1).term();
  raftpb::Message hb = TestMessage(raftpb::MSG_HEARTBEAT, 2, 1, term + 3);
  ASSERT_TRUE(net.node(1).Step(hb).ok());
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), term + 3);
  EXPECT_EQ(net.raft(1).leader(), 2u);
}

TEST(RaftElection, DeposedLeaderLearnsTheNewTermFromItsOldFollowers) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(1);
  net.TickAll(40);
  uint64_t new_leader = net.raft(2).role() == Role::kLeader ? 2 : 3;
  ASSERT_EQ(net.raft(new_leader).role(), Role::kLeader);
  EXPECT_NE(net.raft(1).role(), Role::kLeader) << "CheckQuorum deposed it meanwhile";
  net.HealAll();
  net.TickAll(3);
  EXPECT_EQ(net.raft(1).term(), net.raft(new_leader).term());
  EXPECT_EQ(net.raft(1).leader(), new_leader);
}

TEST(RaftElection, PlantedAmnesiaForgetsTheTermAndVoteOnRestart) {
  for (bool planted : {false, true}) {
    TestNetwork net({1, 2, 3}, {}, [planted](Config& c) {
      if (planted) c.planted_bug_for_testing = PlantedBug::kAmnesia;
    });
    net.Campaign(1);
    const uint64_t term = net.raft(2).term();
    net.Restart(2);
    EXPECT_EQ(net.raft(2).term() == term && net.raft(2).vote() == 1, !planted);
  }
}

}  // namespace
}  // namespace etcpp::raft
