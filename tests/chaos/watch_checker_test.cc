// The watch checker on synthetic streams: correct ones (split into responses, resumed)
// pass; gaps, duplicates, split revisions, bad resumes and missing events are flagged.
#include "tests/chaos/watch_checker.h"

#include <gtest/gtest.h>

namespace etcpp::chaos {
namespace {

using Type = WatchEvent::Type;

WatchEvent Put(const std::string& key, const std::string& value, int64_t revision) {
  return {Type::kPut, key, value, revision};
}
WatchEvent Del(const std::string& key, int64_t revision) { return {Type::kDelete, key, "", revision}; }

// Revision 4 is one txn that changed two keys.
const std::vector<WatchEvent> kHistory = {Put("a", "1", 2), Put("b", "1", 3), Put("a", "2", 4),
                                          Del("b", 4),      Del("a", 5),      Put("c", "1", 6)};

WatchResponse R(std::vector<WatchEvent> events) { return {std::move(events)}; }

std::string OnlyProblem(const WatchCheckResult& result) {
  EXPECT_EQ(result.problems.size(), 1u) << result.Explain();
  return result.problems.empty() ? "" : result.problems[0];
}

TEST(Watch, OneStreamInSeveralResponsesIsAccepted) {
  WatchSession s{1, {R({kHistory[0]}), R({kHistory[1]}), R({kHistory[2], kHistory[3]}),
                     R({kHistory[4], kHistory[5]})}};
  WatchCheckResult result = CheckWatch(kHistory, {s}, true);
  EXPECT_TRUE(result.ok()) << result.Explain();
  EXPECT_EQ(result.events_checked, 6);
}

TEST(Watch, ResumeAfterTheLastDeliveredRevisionIsAccepted) {
  WatchSession first{1, {R({kHistory[0]}), R({kHistory[1]})}};
  WatchSession empty{4, {}};  // cut before anything came
  WatchSession second{4, {R({kHistory[2], kHistory[3]}), R({kHistory[4]}), R({kHistory[5]})}};
  WatchCheckResult result = CheckWatch(kHistory, {first, empty, second}, true);
  EXPECT_TRUE(result.ok()) << result.Explain();
}

TEST(Watch, StartingMidHistoryIsAccepted) {
  WatchSession s{5, {R({kHistory[4]}), R({kHistory[5]})}};
  EXPECT_TRUE(CheckWatch(kHistory, {s}, true).ok());
}

TEST(Watch, MissingEventIsAGap) {
  WatchSession s{1, {R({kHistory[0]}), R({kHistory[2], kHistory[3]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, false)),
            "session 0, response 1: gap: expected put b = \"1\" @3, got put a = \"2\" @4");
}

TEST(Watch, RepeatedEventIsADuplicate) {
  WatchSession s{1, {R({kHistory[0]}), R({kHistory[1]}), R({kHistory[1]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, false)),
            "session 0, response 2: duplicate or out of order: expected put a = \"2\" @4, got put b = "
            "\"1\" @3");
}

TEST(Watch, RevisionSplitAcrossResponsesIsNotAtomic) {
  WatchSession s{1, {R({kHistory[0], kHistory[1], kHistory[2]}), R({kHistory[3]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, false)),
            "session 0, response 0: revision 4 split across responses, delete b @4 is not in the "
            "response that delivered it");
}

TEST(Watch, WrongValueIsFlagged) {
  WatchSession s{1, {R({Put("a", "x", 2)})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, false)),
            "session 0, response 0: wrong event: expected put a = \"1\" @2, got put a = \"x\" @2");
}

TEST(Watch, ResumingTooLateLosesEvents) {
  WatchSession first{1, {R({kHistory[0]})}};
  WatchSession second{4, {R({kHistory[2], kHistory[3]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {first, second}, false)),
            "session 1: resumed at revision 4 instead of 3, losing put b = \"1\" @3");
}

TEST(Watch, ResumingTooEarlyRepeatsEvents) {
  WatchSession first{1, {R({kHistory[0]}), R({kHistory[1]})}};
  WatchSession second{3, {R({kHistory[1]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {first, second}, false)),
            "session 1: resumed at revision 3 instead of 4, repeating put b = \"1\" @3");
}

TEST(Watch, ServerIgnoringTheResumeRevisionIsFlagged) {
  WatchSession first{1, {R({kHistory[0]}), R({kHistory[1]})}};
  WatchSession second{4, {R({kHistory[1]})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {first, second}, false)),
            "session 1, response 0: duplicate or out of order: expected put a = \"2\" @4, got put b = "
            "\"1\" @3");
}

TEST(Watch, EventsNeverDeliveredAreIncompleteWhenCompletenessIsAsked) {
  WatchSession s{1, {R({kHistory[0]}), R({kHistory[1]})}};
  EXPECT_TRUE(CheckWatch(kHistory, {s}, false).ok());
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, true)),
            "incomplete: never delivered put a = \"2\" @4 (last delivered revision 3)");
}

TEST(Watch, EventPastTheEndOfHistoryIsFlagged) {
  WatchSession s{6, {R({kHistory[5], Put("d", "1", 7)})}};
  EXPECT_EQ(OnlyProblem(CheckWatch(kHistory, {s}, false)),
            "session 0, response 0: put d = \"1\" @7 is past the end of the history");
}

}  // namespace
}  // namespace etcpp::chaos
