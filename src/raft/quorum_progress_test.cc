// Quorum arithmetic, the in-flight window, Progress states and single-step changes.
#include <gtest/gtest.h>

#include "raft/progress.h"
#include "raft/quorum.h"
#include "raft/tracker.h"

namespace etcpp::raft {
namespace {

TEST(MajorityConfig, CommittedIndexIsWhatAMajorityHolds) {
  MajorityConfig c;
  for (uint64_t id : {1, 2, 3}) c.Add(id);
  std::map<uint64_t, uint64_t> acked{{1, 7}, {2, 5}, {3, 9}};
  auto lookup = [&](uint64_t id) -> std::optional<uint64_t> {
    auto it = acked.find(id);
    return it == acked.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  };
  EXPECT_EQ(c.CommittedIndex(lookup), 7u);
  c.Add(4);  // unknown counts as 0: with four voters a majority is three
  EXPECT_EQ(c.CommittedIndex(lookup), 5u);
  acked[4] = 8;
  EXPECT_EQ(c.CommittedIndex(lookup), 7u);
}

TEST(MajorityConfig, TallyWinsLosesOrWaits) {
  MajorityConfig c;
  for (uint64_t id : {1, 2, 3, 4, 5}) c.Add(id);
  EXPECT_EQ(c.Tally({{1, true}, {2, true}}), VoteResult::kPending);
  EXPECT_EQ(c.Tally({{1, true}, {2, true}, {3, true}}), VoteResult::kWon);
  EXPECT_EQ(c.Tally({{1, true}, {2, false}, {3, false}, {4, false}}), VoteResult::kLost);
  EXPECT_EQ(c.Tally({{1, true}, {9, true}, {8, true}}), VoteResult::kPending)
      << "non-voters do not count";
}

TEST(Inflights, FullByCountOrBytes) {
  Inflights by_count(2, 0);
  by_count.Add(5, 10);
  EXPECT_FALSE(by_count.Full());
  by_count.Add(7, 10);
  EXPECT_TRUE(by_count.Full());
  by_count.FreeLE(5);
  EXPECT_FALSE(by_count.Full());
  EXPECT_EQ(by_count.Count(), 1u);

  Inflights by_bytes(100, 1000);
  by_bytes.Add(1, 600);
  EXPECT_FALSE(by_bytes.Full());
  by_bytes.Add(2, 400);
  EXPECT_TRUE(by_bytes.Full());
  by_bytes.FreeFirstOne();
  EXPECT_EQ(by_bytes.Bytes(), 400u);
}

TEST(Progress, ProbeSendsOneAppendThenPauses) {
  Progress pr(10, 4, 0, false);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(3, 30);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.next, 10u) << "probing does not move next optimistically";
  EXPECT_TRUE(pr.MaybeUpdate(12));
  EXPECT_FALSE(pr.IsPaused());
}

TEST(Progress, ReplicateMovesNextOptimisticallyWithinTheWindow) {
  Progress pr(1, 2, 0, false);
  pr.BecomeReplicate();
  pr.SentEntries(5, 50);
  EXPECT_EQ(pr.next, 6u);
  pr.SentEntries(5, 50);
  EXPECT_TRUE(pr.IsPaused()) << "two messages fill a window of two";
  EXPECT_TRUE(pr.MaybeUpdate(5));
  pr.inflights.FreeLE(5);
  EXPECT_FALSE(pr.IsPaused());
}

TEST(Progress, StaleRejectionsAreIgnored) {
  Progress pr(1, 8, 0, false);
  pr.BecomeReplicate();
  pr.MaybeUpdate(5);
  pr.SentEntries(5, 50);  // next = 11
  EXPECT_FALSE(pr.MaybeDecreaseTo(4, 4)) << "a rejection at or below match is old news";
  EXPECT_TRUE(pr.MaybeDecreaseTo(8, 6));
  EXPECT_EQ(pr.next, 6u);

  Progress probe(10, 8, 0, false);
  EXPECT_FALSE(probe.MaybeDecreaseTo(7, 3)) << "probe: only a rejection of next-1 counts";
  EXPECT_TRUE(probe.MaybeDecreaseTo(9, 3));
  EXPECT_EQ(probe.next, 4u) << "the hint lets next jump back several entries at once";
}

TEST(ProgressTracker, SingleStepChangesAndTheirLimits) {
  ProgressTracker t(4, 0);
  raftpb::ConfState cs;
  cs.add_voters(1);
  cs.add_learners(2);
  t.Reset(cs, 5);
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
  cc.set_node_id(2);
  t.Get(2)->match = 4;
  ASSERT_TRUE(t.ApplyConfChange(cc, 5).ok());
  EXPECT_TRUE(t.IsVoter(2));
  EXPECT_FALSE(t.IsLearner(2));
  EXPECT_EQ(t.Get(2)->match, 4u) << "promotion keeps the learner's progress";

  cc.set_type(raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
  EXPECT_FALSE(t.ApplyConfChange(cc, 5).ok()) << "demotion needs joint consensus";
  cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
  cc.set_node_id(1);
  ASSERT_TRUE(t.ApplyConfChange(cc, 5).ok());
  cc.set_node_id(2);
  EXPECT_FALSE(t.ApplyConfChange(cc, 5).ok()) << "the last voter cannot be removed";
  EXPECT_EQ(t.GetConfState().voters_size(), 1);
}

}  // namespace
}  // namespace etcpp::raft
