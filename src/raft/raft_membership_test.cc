// Membership changes (voters, learners, promotion, the single-step rule) and log
// compaction with snapshots.
#include <gtest/gtest.h>

#include "raft/test_network.h"

namespace etcpp::raft {
namespace {

using Strings = std::vector<std::string>;

base::Status ProposeChange(TestNetwork& net, uint64_t at, raftpb::ConfChangeType type,
                           uint64_t id) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  base::Status s = net.node(at).ProposeConfChange(cc);
  net.Drain();
  return s;
}

TEST(RaftMembership, AnAddedVoterCatchesUpAndCountsInTheQuorum) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  net.AddMember(4);
  ASSERT_TRUE(ProposeChange(net, 1, raftpb::CONF_CHANGE_ADD_NODE, 4).ok());
  net.TickAll(2);
  EXPECT_TRUE(net.raft(1).tracker().IsVoter(4));
  EXPECT_TRUE(net.raft(4).tracker().IsVoter(4));
  EXPECT_EQ(net.raft(4).log().committed(), net.raft(1).log().committed());
  // Four voters: a majority is three, so the leader and one follower are not enough.
  net.Cut(1, 3);
  net.Cut(1, 4);
  const uint64_t commit = net.raft(1).log().committed();
  ASSERT_TRUE(net.Propose(1, "b").ok());
  EXPECT_EQ(net.raft(1).log().committed(), commit);
  net.HealAll();
  net.TickAll(1);
  EXPECT_EQ(net.raft(1).log().committed(), commit + 1);
}

TEST(RaftMembership, LearnersGetTheLogButNeitherVoteNorCount) {
  TestNetwork net({1, 2, 3}, {4});
  net.Campaign(4);
  EXPECT_EQ(net.raft(4).role(), Role::kFollower) << "a learner never campaigns";
  EXPECT_EQ(net.raft(4).term(), 1u);
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  EXPECT_EQ(net.applied(4), Strings{"a"});
  net.Cut(1, 2);
  net.Cut(1, 3);
  const uint64_t commit = net.raft(1).log().committed();
  ASSERT_TRUE(net.Propose(1, "b").ok());
  EXPECT_EQ(net.raft(1).log().committed(), commit) << "the learner's copy is not a quorum";
  EXPECT_EQ(net.raft(4).log().LastIndex(), net.raft(1).log().LastIndex());
}

TEST(RaftMembership, APromotedLearnerVotesAndCounts) {
  TestNetwork net({1, 2}, {3});
  net.Campaign(1);
  ASSERT_TRUE(ProposeChange(net, 1, raftpb::CONF_CHANGE_ADD_NODE, 3).ok());
  net.TickAll(1);
  ASSERT_TRUE(net.raft(3).tracker().IsVoter(3));
  // With three voters, leader and the promoted member commit without member 2.
  net.Isolate(2);
  const uint64_t commit = net.raft(1).log().committed();
  ASSERT_TRUE(net.Propose(1, "x").ok());
  EXPECT_EQ(net.raft(1).log().committed(), commit + 1);
  net.HealAll();
  net.Isolate(1);
  net.Tick(2, 10);  // member 2's leader lease runs out
  net.Campaign(3);
  net.Campaign(3);
  EXPECT_EQ(net.raft(3).role(), Role::kLeader) << "the promoted member wins with member 2's vote";
}

TEST(RaftMembership, RemovingTheLeaderMakesItStepDown) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(ProposeChange(net, 1, raftpb::CONF_CHANGE_REMOVE_NODE, 1).ok());
  net.TickAll(1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_FALSE(net.raft(2).tracker().IsMember(1));
  net.Isolate(1);
  net.TickAll(40);
  const uint64_t leader = net.raft(2).role() == Role::kLeader ? 2 : 3;
  EXPECT_EQ(net.raft(leader).role(), Role::kLeader);
  ASSERT_TRUE(net.Propose(leader, "after").ok());
  EXPECT_EQ(net.applied(2), Strings{"after"});
}

TEST(RaftMembership, OnlyOneConfChangeMayBePending) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(1);
  ASSERT_TRUE(ProposeChange(net, 1, raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 4).ok());
  EXPECT_EQ(ProposeChange(net, 1, raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 5).code(),
            base::Code::kFailedPrecondition);
  net.HealAll();
  net.TickAll(2);
  EXPECT_TRUE(net.raft(1).tracker().IsLearner(4));
  EXPECT_TRUE(ProposeChange(net, 1, raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 5).ok());
}

TEST(RaftMembership, InvalidChangesLeaveTheConfigurationAlone) {
  TestNetwork net({1});
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
  cc.set_node_id(1);
  EXPECT_FALSE(net.node(1).ApplyConfChange(cc).ok());
  EXPECT_EQ(net.node(1).GetConfState().voters_size(), 1);
}

TEST(RaftSnapshot, AFollowerBehindTheCompactionPointGetsASnapshot) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  for (const char* data : {"a", "b", "c", "d"}) ASSERT_TRUE(net.Propose(1, data).ok());
  MemoryStorage& s = net.storage(1);
  const uint64_t applied = net.raft(1).log().applied();
  ASSERT_TRUE(s.CreateSnapshot(applied, net.node(1).GetConfState(), "image").ok());
  ASSERT_TRUE(s.Compact(applied).ok());
  net.HealAll();
  net.ClearDelivered();
  net.TickAll(3);
  bool snapshot_sent = false;
  for (const raftpb::Message& m : net.delivered()) {
    snapshot_sent |= m.type() == raftpb::MSG_SNAP && m.to() == 3;
  }
  EXPECT_TRUE(snapshot_sent);
  // The snapshot stands for the state; later entries follow as usual.
  net.node(1).ReportSnapshot(3, true);
  ASSERT_TRUE(net.Propose(1, "e").ok());
  EXPECT_EQ(net.storage(3).FirstIndex(), applied + 1);
  EXPECT_EQ(net.storage(3).Snapshot()->data(), "image");
  EXPECT_EQ(net.applied(3), Strings{"e"});
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
}

TEST(RaftSnapshot, InstallingASnapshotReplacesTheLogPrefix) {
  MemoryStorage storage;
  FillLog(storage, 1, {1, 1, 1, 1, 1}, 1);
  Config c;
  c.id = 2;
  c.storage = &storage;
  auto node = RawNode::Create(c).value();
  raftpb::Message m = TestMessage(raftpb::MSG_SNAP, 1, 2, 3);
  m.mutable_snapshot()->mutable_metadata()->set_index(10);
  m.mutable_snapshot()->mutable_metadata()->set_term(3);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(1);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(2);
  ASSERT_TRUE(node->Step(m).ok());
  Ready rd = node->GetReady();
  ASSERT_TRUE(rd.snapshot.has_value());
  EXPECT_EQ(rd.snapshot->metadata().index(), 10u);
  EXPECT_TRUE(rd.committed_entries.empty()) << "nothing to apply before the snapshot";
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].index(), 10u);
  ASSERT_TRUE(storage.ApplySnapshot(*rd.snapshot).ok());
  node->Advance();
  EXPECT_EQ(node->raft().log().FirstIndex(), 11u);
  EXPECT_EQ(node->raft().log().committed(), 10u);
  EXPECT_EQ(node->GetConfState().voters_size(), 2);
}

TEST(RaftSnapshot, ASnapshotOfAnEntryWeHoldOnlyMovesTheCommitIndex) {
  MemoryStorage storage;
  FillLog(storage, 1, {1, 1, 1, 1, 1}, 1);
  Config c;
  c.id = 2;
  c.storage = &storage;
  auto node = RawNode::Create(c).value();
  raftpb::Message m = TestMessage(raftpb::MSG_SNAP, 1, 2, 1);
  m.mutable_snapshot()->mutable_metadata()->set_index(4);
  m.mutable_snapshot()->mutable_metadata()->set_term(1);
  ASSERT_TRUE(node->Step(m).ok());
  Ready rd = node->GetReady();
  EXPECT_FALSE(rd.snapshot.has_value());
  EXPECT_EQ(node->raft().log().committed(), 4u);
  EXPECT_EQ(node->raft().log().LastIndex(), 5u) << "the entry after the snapshot point stays";
  node->Advance();
}

TEST(RawNode, RefusesLocalMessagesFromTheNetworkAndInvalidConfigs) {
  TestNetwork net({1, 2, 3});
  EXPECT_FALSE(net.node(1).Step(TestMessage(raftpb::MSG_HUP, 2, 1, 0)).ok());
  EXPECT_FALSE(net.node(1).Step(TestMessage(raftpb::MSG_APP_RESP, 9, 1, 1)).ok());
  Config c;
  EXPECT_FALSE(RawNode::Create(c).ok()) << "id 0 and no storage";
  MemoryStorage storage;
  c.id = 1;
  c.storage = &storage;
  c.heartbeat_ticks = 10;
  EXPECT_FALSE(RawNode::Create(c).ok()) << "heartbeat must be shorter than the election timeout";
}

TEST(RawNode, ReadyHandsOutEachEntryOnceAndOnlyAfterAdvance) {
  MemoryStorage storage;
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(1);
  snap.mutable_metadata()->set_term(1);
  snap.mutable_metadata()->mutable_conf_state()->add_voters(1);
  ASSERT_TRUE(storage.ApplySnapshot(snap).ok());
  Config c;
  c.id = 1;
  c.storage = &storage;
  auto node = RawNode::Create(c).value();
  node->Campaign();
  Ready rd = node->GetReady();
  ASSERT_TRUE(rd.soft_state.has_value());
  EXPECT_EQ(rd.soft_state->role, Role::kLeader);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_TRUE(rd.must_sync);
  ASSERT_EQ(rd.entries.size(), 1u);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  ASSERT_TRUE(storage.Append(rd.entries).ok());
  storage.SetHardState(*rd.hard_state);
  node->Advance();
  EXPECT_FALSE(node->HasReady());
  ASSERT_TRUE(node->Propose("x").ok());
  rd = node->GetReady();
  EXPECT_FALSE(rd.soft_state.has_value());
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].data(), "x");
  ASSERT_TRUE(storage.Append(rd.entries).ok());
  node->Advance();
  EXPECT_EQ(node->raft().log().applied(), 3u);
  EXPECT_FALSE(node->HasReady());
}

}  // namespace
}  // namespace etcpp::raft
