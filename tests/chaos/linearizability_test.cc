// The linearizability checker on hand-made histories: correct ones (overlapping calls,
// unknown outcomes) must pass, anomalies (stale read, lost write, CAS, counts, revisions)
// must be flagged with the sub-history that shows them. Times are in milliseconds.
#include "tests/chaos/linearizability.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "tests/chaos/history_generator.h"

namespace etcpp::chaos {
namespace {

constexpr int64_t kMs = 1'000'000;

Operation At(int client, int64_t invoke_ms, int64_t complete_ms, OpKind kind, const std::string& key) {
  Operation op;
  op.client = client;
  op.invoke_ns = invoke_ms * kMs;
  op.complete_ns = complete_ms * kMs;
  op.kind = kind;
  op.key = key;
  return op;
}

Operation Get(int c, int64_t a, int64_t b, const std::string& key, const std::string& value, int64_t rev) {
  Operation op = At(c, a, b, OpKind::kGet, key);
  op.found = true;
  op.result_value = value;
  op.mod_revision = rev;
  return op;
}

Operation GetAbsent(int c, int64_t a, int64_t b, const std::string& key) {
  return At(c, a, b, OpKind::kGet, key);
}

Operation Put(int c, int64_t a, int64_t b, const std::string& key, const std::string& value, int64_t rev) {
  Operation op = At(c, a, b, OpKind::kPut, key);
  op.value = value;
  op.revision = rev;
  return op;
}

Operation Unknown(Operation op) {
  op.outcome = Outcome::kUnknown;
  op.complete_ns = 0;
  return op;
}

Operation Delete(int c, int64_t a, int64_t b, const std::string& key, int64_t deleted) {
  Operation op = At(c, a, b, OpKind::kDelete, key);
  op.deleted = deleted;
  return op;
}

Operation CasValue(int c, int64_t a, int64_t b, const std::string& key, const std::string& expected,
                   const std::string& value, bool succeeded, int64_t rev) {
  Operation op = At(c, a, b, OpKind::kCas, key);
  op.compare_target = CompareTarget::kValue;
  op.compare_value = expected;
  op.value = value;
  op.succeeded = succeeded;
  op.revision = succeeded ? rev : 0;
  return op;
}

Operation CasRevision(int c, int64_t a, int64_t b, const std::string& key, int64_t expected,
                      const std::string& value, bool succeeded, int64_t rev) {
  Operation op = CasValue(c, a, b, key, "", value, succeeded, rev);
  op.compare_target = CompareTarget::kModRevision;
  op.compare_mod_revision = expected;
  return op;
}

Operation Count(int c, int64_t a, int64_t b, const std::string& from, const std::string& to, int64_t n) {
  Operation op = At(c, a, b, OpKind::kRangeCount, from);
  op.range_end = to;
  op.count = n;
  return op;
}

// The sub-history as "put x=1"-like call summaries, in invocation order.
std::vector<std::string> Calls(const CheckResult& result) {
  std::vector<std::string> out;
  for (const auto& op : result.sub_history) {
    std::string line = Format(op);
    out.push_back(line.substr(line.find("] ") + 2));
  }
  return out;
}

TEST(Linearizable, SequentialPutGetDeleteIsAccepted) {
  History h = {Put(1, 0, 1, "x", "a", 2), Get(2, 2, 3, "x", "a", 2), Delete(1, 4, 5, "x", 1),
               GetAbsent(2, 6, 7, "x"), Delete(1, 8, 9, "x", 0)};
  EXPECT_EQ(CheckLinearizable(h).verdict, Verdict::kLinearizable);
}

TEST(Linearizable, OverlappingWritesMayTakeEffectInEitherOrder) {
  // put b started later but took effect first; the read inside both sees b, a read
  // after both sees a.
  History h = {Put(1, 0, 10, "x", "a", 3), Put(2, 5, 15, "x", "b", 2), Get(3, 6, 8, "x", "b", 2),
               Get(3, 20, 21, "x", "a", 3)};
  CheckResult result = CheckLinearizable(h);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
}

TEST(Linearizable, ConcurrentReadsMaySeeOldOrNewValue) {
  History h = {Put(1, 0, 1, "x", "a", 2), Put(1, 10, 20, "x", "b", 3), Get(2, 11, 12, "x", "b", 3),
               Get(3, 13, 14, "x", "b", 3), Get(4, 12, 19, "x", "b", 3)};
  EXPECT_EQ(CheckLinearizable(h).verdict, Verdict::kLinearizable);
  // A read that overlaps the write may still see the old value, if no earlier read saw
  // the new one.
  History h2 = {Put(1, 0, 1, "x", "a", 2), Put(1, 10, 20, "x", "b", 3), Get(2, 11, 12, "x", "a", 2),
                Get(3, 13, 14, "x", "b", 3)};
  EXPECT_EQ(CheckLinearizable(h2).verdict, Verdict::kLinearizable);
}

TEST(Linearizable, UnknownWriteMayHaveTakenEffectLate) {
  History h = {Unknown(Put(1, 0, 0, "x", "a", 0)), GetAbsent(2, 5, 6, "x"), Get(2, 50, 51, "x", "a", 7)};
  CheckResult result = CheckLinearizable(h);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
}

TEST(Linearizable, UnknownWritesMayNeverTakeEffect) {
  History h = {Put(1, 0, 1, "x", "a", 2)};
  for (int i = 0; i < 40; ++i) h.push_back(Unknown(Put(2, 2 + i, 0, "x", "lost" + std::to_string(i), 0)));
  h.push_back(Get(3, 100, 101, "x", "a", 2));
  h.push_back(Unknown(CasValue(4, 102, 0, "x", "a", "c", false, 0)));
  h.push_back(Unknown(Delete(4, 103, 0, "x", 0)));
  h.push_back(Get(3, 200, 201, "x", "c", 9));
  CheckResult result = CheckLinearizable(h);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
}

TEST(Linearizable, CompareAndSetOnValueAndModRevision) {
  History h = {CasRevision(1, 0, 1, "x", 0, "a", true, 2),     // create if absent
               CasRevision(2, 2, 3, "x", 0, "b", false, 0),    // exists now
               CasValue(1, 4, 5, "x", "a", "c", true, 3),
               CasValue(2, 6, 7, "x", "a", "d", false, 0),
               CasRevision(1, 8, 9, "x", 3, "e", true, 4),
               Get(2, 10, 11, "x", "e", 4),
               Delete(1, 12, 13, "x", 1),
               CasValue(2, 14, 15, "x", "e", "f", false, 0)};  // value compare on a missing key fails
  CheckResult result = CheckLinearizable(h);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
}

TEST(Linearizable, RangeCountsSeeConcurrentCreatesOrNot) {
  History h = {Put(1, 0, 1, "p/a", "1", 2), Put(1, 2, 3, "p/b", "2", 3), Put(1, 2, 3, "q", "3", 4),
               Count(2, 4, 5, "p/", "p0", 2), Delete(1, 6, 10, "p/a", 1), Count(2, 7, 8, "p/", "p0", 2),
               Count(3, 7, 9, "p/", "p0", 1), Count(2, 11, 12, "p/", "p0", 1),
               Count(2, 11, 12, "z", "", 0)};
  CheckResult result = CheckLinearizable(h);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
  EXPECT_EQ(result.partitions, 3);  // {p/a, p/b}, {q}, and the count of nothing
}

TEST(NotLinearizable, StaleReadIsFlaggedWithTheWritesItSawAndMissed) {
  History h = {Put(1, 0, 1, "x", "0", 2),    Get(2, 2, 3, "x", "0", 2),  Put(3, 2, 3, "y", "y", 3),
               Put(1, 10, 11, "x", "1", 4),  Put(1, 20, 21, "x", "2", 5), Get(2, 22, 23, "x", "2", 5),
               Get(3, 30, 31, "x", "1", 4),  Get(2, 40, 41, "x", "2", 5)};
  CheckResult result = CheckLinearizable(h);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.keys, std::vector<std::string>{"x"});
  // The write the read saw matters only as a write that happened: shown relaxed.
  EXPECT_EQ(Calls(result), (std::vector<std::string>{"put x = \"1\" -> unknown",
                                                     "put x = \"2\" -> ok rev 5",
                                                     "get x -> ok \"1\" mod_rev 4"}))
      << result.Explain();
}

TEST(NotLinearizable, LostWriteIsFlagged) {
  History h = {Put(1, 0, 1, "x", "a", 2), Get(2, 1, 2, "x", "a", 2), Put(1, 5, 6, "x", "b", 3),
               Get(2, 7, 8, "x", "a", 2)};
  CheckResult result = CheckLinearizable(h);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(Calls(result), (std::vector<std::string>{"put x = \"a\" -> unknown",
                                                     "put x = \"b\" -> ok rev 3",
                                                     "get x -> ok \"a\" mod_rev 2"}));
  History vanished = {Put(1, 0, 1, "x", "a", 2), GetAbsent(2, 2, 3, "x")};
  result = CheckLinearizable(vanished);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.sub_history.size(), 2u);
}

TEST(NotLinearizable, TwoCompareAndSetsOnTheSameValueBothSucceeding) {
  History h = {Put(1, 0, 1, "x", "a", 2), CasValue(2, 2, 3, "x", "a", "b", true, 3),
               CasValue(3, 4, 5, "x", "a", "c", true, 4), Get(1, 6, 7, "other", "", 0)};
  h.back().found = false;
  CheckResult result = CheckLinearizable(h);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(Calls(result), (std::vector<std::string>{"put x = \"a\" -> unknown",
                                                     "cas x value == \"a\" then \"b\" -> ok succeeded rev 3",
                                                     "cas x value == \"a\" then \"c\" -> ok succeeded rev 4"}))
      << result.Explain();
}

TEST(NotLinearizable, CompareAndSetThatShouldHaveSucceeded) {
  History h = {Put(1, 0, 1, "x", "a", 2), CasRevision(2, 2, 3, "x", 2, "b", false, 0)};
  EXPECT_EQ(CheckLinearizable(h).verdict, Verdict::kNotLinearizable);
}

TEST(NotLinearizable, RangeCountMissingAKey) {
  History h = {Put(1, 0, 1, "p/a", "1", 2), Put(1, 2, 3, "p/b", "2", 3), Count(2, 4, 5, "p/", "p0", 1)};
  CheckResult result = CheckLinearizable(h);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.sub_history.size(), 3u) << result.Explain();
}

TEST(NotLinearizable, RevisionsGoingBackwardsOnAKey) {
  History h = {Put(1, 0, 1, "x", "a", 5), Put(1, 2, 3, "x", "b", 4)};
  EXPECT_EQ(CheckLinearizable(h).verdict, Verdict::kNotLinearizable);
}

TEST(NotLinearizable, UnknownWriteCannotExplainAReadBeforeIt) {
  History h = {Get(1, 0, 1, "x", "a", 2), Unknown(Put(2, 5, 0, "x", "a", 0))};
  CheckResult result = CheckLinearizable(h);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_NE(result.Explain().find("NOT linearizable"), std::string::npos);
}

TEST(Generated, CorrectHistoriesPassAndPlantedStaleReadsAreCaught) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    GeneratorOptions options{.seed = seed, .operations = 1000, .keys = 8, .unknown_fraction = 0.05};
    CheckResult result = CheckLinearizable(GenerateHistory(options));
    EXPECT_EQ(result.verdict, Verdict::kLinearizable) << "seed " << seed << "\n" << result.Explain();
    options.stale_reads = 1;
    result = CheckLinearizable(GenerateHistory(options));
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable) << "seed " << seed;
    // Range counts and failed compares may have seen any write of their keys, so the
    // minimization keeps those writes (relaxed): the report is smaller, not minimal.
    EXPECT_LT(result.sub_history.size(), 250u) << result.Explain();
  }
}

// Not a timed assertion: prints how long 100,000 operations over 1,000 keys take.
TEST(Generated, HundredThousandOperationsPrintsItsTime) {
  GeneratorOptions options{.seed = 7, .operations = 100'000, .keys = 1000, .unknown_fraction = 0.01};
  History history = GenerateHistory(options);
  auto start = std::chrono::steady_clock::now();
  CheckResult result = CheckLinearizable(history);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("checked %zu operations, %d partitions, %lld steps in %.3f s\n", history.size(),
              result.partitions, static_cast<long long>(result.steps), seconds);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.Explain();
}

}  // namespace
}  // namespace etcpp::chaos
