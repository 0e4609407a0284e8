// Linearizable reads (ReadIndex) and leadership transfer.
#include <gtest/gtest.h>

#include "raft/test_network.h"

namespace etcpp::raft {
namespace {

bool IsHeartbeatResponse(const raftpb::Message& m) {
  return m.type() == raftpb::MSG_HEARTBEAT_RESP;
}

TEST(RaftReadIndex, OneHeartbeatRoundConfirmsEveryWaitingRead) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  const uint64_t commit = net.raft(1).log().committed();
  net.SetFilter(IsHeartbeatResponse);
  net.ClearDelivered();
  ASSERT_TRUE(net.node(1).ReadIndex("a").ok());
  ASSERT_TRUE(net.node(1).ReadIndex("b").ok());
  net.Drain();
  EXPECT_TRUE(net.read_states(1).empty()) << "leadership is not confirmed yet";
  int rounds = 0;
  for (const raftpb::Message& m : net.delivered()) {
    if (m.type() == raftpb::MSG_HEARTBEAT && !m.context().empty()) ++rounds;
  }
  EXPECT_EQ(rounds, 2) << "one round (to two followers) while a round is out";
  net.SetFilter(nullptr);
  net.Tick(1);
  ASSERT_EQ(net.read_states(1).size(), 2u);
  EXPECT_EQ(net.read_states(1)[0].context, "a");
  EXPECT_EQ(net.read_states(1)[1].context, "b");
  for (const ReadState& rs : net.read_states(1)) EXPECT_EQ(rs.index, commit);
}

TEST(RaftReadIndex, FollowerReadsAreForwardedToTheLeader) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  ASSERT_TRUE(net.node(3).ReadIndex("f").ok());
  net.Drain();
  ASSERT_EQ(net.read_states(3).size(), 1u);
  EXPECT_EQ(net.read_states(3)[0].index, net.raft(1).log().committed());
  EXPECT_EQ(net.read_states(3)[0].context, "f");
}

TEST(RaftReadIndex, ANewLeaderServesReadsOnlyAfterCommittingInItsTerm) {
  TestNetwork net({1, 2, 3});
  // Acknowledgements are lost: the new leader's empty entry does not commit.
  net.SetFilter([](const raftpb::Message& m) { return m.type() == raftpb::MSG_APP_RESP; });
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_TRUE(net.node(1).ReadIndex("early").ok());
  net.Tick(1);
  EXPECT_TRUE(net.read_states(1).empty());
  net.SetFilter(nullptr);
  net.Tick(1);
  net.Tick(1);
  ASSERT_EQ(net.read_states(1).size(), 1u);
  EXPECT_EQ(net.read_states(1)[0].index, 2u) << "at least the new leader's first entry";
}

TEST(RaftReadIndex, AnIsolatedLeaderServesNoReads) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(1);
  ASSERT_TRUE(net.node(1).ReadIndex("stale?").ok());
  net.Tick(1, 5);
  EXPECT_TRUE(net.read_states(1).empty());
}

TEST(RaftReadIndex, ASingleVoterAnswersAtOnce) {
  TestNetwork net({1});
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).ReadIndex("solo").ok());
  net.Drain();
  ASSERT_EQ(net.read_states(1).size(), 1u);
  EXPECT_EQ(net.read_states(1)[0].index, net.raft(1).log().committed());
}

TEST(RaftLeaderTransfer, AnUpToDateFollowerTakesOverAtOnce) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  const uint64_t term = net.raft(1).term();
  net.node(1).TransferLeader(2);
  net.Drain();
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).term(), term + 1);
  EXPECT_EQ(net.raft(1).leader(), 2u);
}

TEST(RaftLeaderTransfer, ALaggingTransfereeCatchesUpFirst) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Cut(1, 3);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.HealAll();
  net.node(1).TransferLeader(3);
  net.Drain();
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
  EXPECT_EQ(net.applied(3), std::vector<std::string>{"x"});
}

TEST(RaftLeaderTransfer, ProposalsAreRefusedUntilTheTransferEndsOrTimesOut) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  net.node(1).TransferLeader(3);
  net.Drain();
  EXPECT_EQ(net.raft(1).lead_transferee(), 3u);
  EXPECT_EQ(net.Propose(1, "x").code(), base::Code::kUnavailable);
  net.Tick(1, 10);
  EXPECT_EQ(net.raft(1).lead_transferee(), kNone) << "aborted after an election timeout";
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_TRUE(net.Propose(1, "x").ok());
}

TEST(RaftLeaderTransfer, FollowersForwardTheRequestAndLearnersAreNoTransferees) {
  TestNetwork net({1, 2, 3}, {4});
  net.Campaign(1);
  net.node(2).TransferLeader(4);
  net.Drain();
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).lead_transferee(), kNone);
  net.node(2).TransferLeader(3);
  net.Drain();
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
}

}  // namespace
}  // namespace etcpp::raft
