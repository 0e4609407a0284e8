// Log replication: commit by majority, the Raft paper's hard cases, backtracking,
// byte and window bounds.
#include <gtest/gtest.h>

#include "raft/test_network.h"

namespace etcpp::raft {
namespace {

using Strings = std::vector<std::string>;

bool CarriesIndex(const raftpb::Message& m, uint64_t index) {
  for (const raftpb::Entry& e : m.entries()) {
    if (e.index() == index) return true;
  }
  return false;
}

TEST(RaftReplication, ProposalsCommitAndApplyInTheSameOrderEverywhere) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  for (const char* data : {"a", "b", "c"}) ASSERT_TRUE(net.Propose(1, data).ok());
  for (uint64_t id : {1, 2, 3})
    EXPECT_EQ(net.applied(id), (Strings{"a", "b", "c"})) << "member " << id;
}

TEST(RaftReplication, FollowersForwardProposalsToTheLeader) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(3, "via-3").ok());
  EXPECT_EQ(net.applied(1), (Strings{"via-3"}));
}

TEST(RaftReplication, ProposalsWithoutALeaderAreDropped) {
  TestNetwork net({1, 2, 3});
  EXPECT_EQ(net.Propose(2, "x").code(), base::Code::kUnavailable);
}

TEST(RaftReplication, AnEntryCommitsOnlyOnAMajority) {
  TestNetwork net({1, 2, 3, 4, 5});
  net.Campaign(1);
  const uint64_t commit = net.raft(1).log().committed();
  for (uint64_t id : {3, 4, 5}) net.Cut(1, id);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  EXPECT_EQ(net.raft(1).log().committed(), commit) << "two of five hold it";
  net.HealAll();
  net.TickAll(1);
  EXPECT_EQ(net.raft(1).log().committed(), commit + 1);
  EXPECT_EQ(net.applied(4), (Strings{"x"}));
}

// Raft paper figure 8: member 1 won term 4 with an entry of term 2 at index 2 that
// member 3 (term 3 at index 2) lacks. Member 1 replicates that entry to member 2, so a
// majority holds it — but counting replicas of an earlier-term entry commits nothing:
// member 3 can still win and overwrite it. Returns member 1's commit index at that point.
uint64_t CommitAfterReplicatingAnEarlierTermEntry(bool planted, TestNetwork** out) {
  auto* net = new TestNetwork({1, 2, 3}, {}, [planted](Config& c) {
    c.append_bytes_max = 1;  // one entry per append: index 2 travels alone
    if (planted) c.planted_bug_for_testing = PlantedBug::kOldTermCommit;
  });
  FillLog(net->storage(1), 2, {2}, 2);
  FillLog(net->storage(2), 2, {}, 3, 3);
  FillLog(net->storage(3), 2, {3}, 3, 3);
  for (uint64_t id : {1, 2, 3}) net->Restart(id);
  net->Isolate(3);
  // The first probe (after index 2, which member 2 rejects) goes through; later
  // appends carrying index 3 are lost, so member 2 ends up with index 2 only.
  auto probes = std::make_shared<int>(0);
  net->SetFilter([probes](const raftpb::Message& m) {
    return m.type() == raftpb::MSG_APP && m.to() == 2 && CarriesIndex(m, 3) && ++*probes > 1;
  });
  net->Campaign(1);  // learns term 3 from member 2's rejection
  net->Campaign(1);
  EXPECT_EQ(net->raft(1).role(), Role::kLeader);
  EXPECT_EQ(net->raft(1).term(), 4u);
  EXPECT_EQ(net->storage(2).LastIndex(), 2u);
  EXPECT_EQ(*net->storage(2).Term(2), 2u) << "member 2 holds the term-2 entry";
  *out = net;
  return net->raft(1).log().committed();
}

TEST(RaftReplication, LeaderDoesNotCommitAnEarlierTermEntryByCountingReplicas) {
  TestNetwork* raw = nullptr;
  const uint64_t commit = CommitAfterReplicatingAnEarlierTermEntry(false, &raw);
  std::unique_ptr<TestNetwork> net(raw);
  EXPECT_EQ(commit, 1u);
  // Once an entry of its own term is on a majority, everything before it commits.
  net->SetFilter(nullptr);
  net->Tick(1);
  EXPECT_EQ(net->raft(1).log().committed(), 3u);
}

TEST(RaftReplication, PlantedOldTermCommitLosesACommittedEntry) {
  TestNetwork* raw = nullptr;
  const uint64_t commit = CommitAfterReplicatingAnEarlierTermEntry(true, &raw);
  std::unique_ptr<TestNetwork> net(raw);
  EXPECT_EQ(commit, 2u) << "the planted bug commits index 2 by counting replicas";
  // Member 1 fails; member 3 (last term 3) wins member 2's vote and overwrites index 2.
  net->HealAll();
  net->Isolate(1);
  net->Tick(2, 10);  // member 2's leader lease runs out
  net->Campaign(3);
  net->Campaign(3);
  ASSERT_EQ(net->raft(3).role(), Role::kLeader);
  EXPECT_EQ(*net->storage(2).Term(2), 3u) << "the 'committed' term-2 entry is gone";
}

TEST(RaftReplication, PartitionedOldLeadersEntriesAreOverwritten) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  net.Isolate(1);
  ASSERT_TRUE(net.Propose(1, "lost").ok()) << "the old leader accepts it but cannot commit it";
  const uint64_t lost_index = net.raft(1).log().LastIndex();
  net.TickAll(40);
  const uint64_t leader = net.raft(2).role() == Role::kLeader ? 2 : 3;
  ASSERT_EQ(net.raft(leader).role(), Role::kLeader);
  ASSERT_TRUE(net.Propose(leader, "b").ok());
  net.HealAll();
  net.TickAll(3);
  EXPECT_EQ(net.raft(1).leader(), leader);
  EXPECT_NE(*net.storage(1).Term(lost_index), 2u) << "the uncommitted entry was replaced";
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(net.applied(id), (Strings{"a", "b"})) << "member " << id;
}

TEST(RaftReplication, RejectionHintSkipsAWholeTermPerRoundTrip) {
  TestNetwork net({1, 2, 3});
  // Member 2 holds 29 entries of term 2 that nobody else has; 1 and 3 hold term 3.
  FillLog(net.storage(1), 2, std::vector<uint64_t>(29, 3), 3);
  FillLog(net.storage(2), 2, std::vector<uint64_t>(29, 2), 3);
  FillLog(net.storage(3), 2, std::vector<uint64_t>(29, 3), 3);
  for (uint64_t id : {1, 2, 3}) net.Restart(id);
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  int rejections = 0;
  for (const raftpb::Message& m : net.delivered()) {
    if (m.type() == raftpb::MSG_APP_RESP && m.from() == 2 && m.reject()) ++rejections;
  }
  EXPECT_EQ(rejections, 1) << "one rejection skips all 29 term-2 entries";
  EXPECT_EQ(*net.storage(2).Term(30), 3u);
  EXPECT_EQ(net.raft(2).log().committed(), 31u);
}

TEST(RaftReplication, AppendMessagesStayUnderTheByteLimit) {
  constexpr uint64_t kLimit = 300;
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.append_bytes_max = kLimit; });
  net.Campaign(1);
  net.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.Propose(1, std::string(100, 'a' + i)).ok());
  net.HealAll();
  net.ClearDelivered();
  net.TickAll(3);
  int appends = 0;
  for (const raftpb::Message& m : net.delivered()) {
    if (m.type() != raftpb::MSG_APP || m.to() != 3 || m.entries_size() == 0) continue;
    ++appends;
    uint64_t bytes = 0;
    for (const raftpb::Entry& e : m.entries()) bytes += EntryBytes(e);
    EXPECT_TRUE(bytes <= kLimit || m.entries_size() == 1) << bytes << " bytes";
  }
  EXPECT_GE(appends, 4);
  EXPECT_EQ(net.applied(3).size(), 10u);
}

// With member 2's acknowledgements lost, the leader may have at most `window`
// appends outstanding to it.
int AppendsToSilentFollower(std::function<void(Config&)> tweak) {
  TestNetwork net({1, 2, 3}, {}, std::move(tweak));
  net.Campaign(1);
  EXPECT_TRUE(net.Propose(1, "warm").ok());  // member 2 is now in replicate state
  net.SetFilter(
      [](const raftpb::Message& m) { return m.type() == raftpb::MSG_APP_RESP && m.from() == 2; });
  net.ClearDelivered();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(net.Propose(1, std::string(100, 'x')).ok());
  int appends = 0;
  for (const raftpb::Message& m : net.delivered()) {
    if (m.type() == raftpb::MSG_APP && m.to() == 2 && m.entries_size() > 0) ++appends;
  }
  EXPECT_EQ(net.raft(1).log().committed(), net.raft(1).log().LastIndex())
      << "member 3 acknowledges";
  return appends;
}

TEST(RaftReplication, InflightWindowBoundsPipelinedAppendsByCount) {
  EXPECT_EQ(AppendsToSilentFollower([](Config& c) { c.inflight_messages_max = 3; }), 3);
}

TEST(RaftReplication, InflightWindowBoundsPipelinedAppendsByBytes) {
  // Each append carries one ~110-byte entry; 250 bytes fill after three.
  EXPECT_EQ(AppendsToSilentFollower([](Config& c) { c.inflight_bytes_max = 250; }), 3);
}

TEST(RaftReplication, HeartbeatsNeverCommitPastWhatTheFollowerHolds) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  const uint64_t match3 = net.raft(3).log().LastIndex();
  net.HealAll();
  net.SetFilter(
      [](const raftpb::Message& m) { return m.type() == raftpb::MSG_APP && m.to() == 3; });
  net.ClearDelivered();
  net.TickAll(2);
  bool saw_heartbeat = false;
  for (const raftpb::Message& m : net.delivered()) {
    if (m.type() != raftpb::MSG_HEARTBEAT || m.to() != 3) continue;
    saw_heartbeat = true;
    EXPECT_EQ(m.commit(), match3);
  }
  EXPECT_TRUE(saw_heartbeat);
  EXPECT_LT(net.raft(3).log().committed(), net.raft(1).log().committed());
}

TEST(RaftReplication, AnUnreachableFollowerIsProbedAgain) {
  TestNetwork net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  const Progress& pr = net.raft(1).tracker().progress().at(2);
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
  net.node(1).ReportUnreachable(2);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  ASSERT_TRUE(net.Propose(1, "b").ok());
  EXPECT_EQ(pr.state, ProgressState::kReplicate) << "its answer puts it back to streaming";
  EXPECT_EQ(net.applied(2), (Strings{"a", "b"}));
}

TEST(RaftReplication, UncommittedBytesBoundRefusesProposals) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.uncommitted_bytes_max = 250; });
  net.Campaign(1);
  net.Isolate(1);
  EXPECT_TRUE(net.Propose(1, std::string(200, 'a')).ok());
  EXPECT_EQ(net.Propose(1, std::string(100, 'b')).code(), base::Code::kUnavailable);
  net.HealAll();
  net.TickAll(2);
  EXPECT_TRUE(net.Propose(1, std::string(100, 'b')).ok()) << "applied entries free the budget";
}

}  // namespace
}  // namespace etcpp::raft
