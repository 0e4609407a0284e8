#include "base/failpoint.h"

#include <gtest/gtest.h>

namespace etcpp::base {
namespace {

using Kind = FailpointAction::Kind;

TEST(Failpoint, ParsesTheActionOfItsOwnName) {
  auto action = ParseFailpoint("a=error;wal-before-fsync=crash@100", "wal-before-fsync");
  EXPECT_EQ(action.kind, Kind::kCrash);
  EXPECT_EQ(action.from_hit, 100u);
  action = ParseFailpoint("a=error;wal-before-fsync=crash@100", "a");
  EXPECT_EQ(action.kind, Kind::kError);
  EXPECT_EQ(action.from_hit, 1u);
}

TEST(Failpoint, ACrashMayWaitFirst) {
  auto action = ParseFailpoint("a=crash+50ms@7", "a");
  EXPECT_EQ(action.kind, Kind::kCrash);
  EXPECT_EQ(action.crash_delay_ms, 50u);
  EXPECT_EQ(action.from_hit, 7u);
  EXPECT_EQ(ParseFailpoint("a=crash", "a").crash_delay_ms, 0u);
}

TEST(Failpoint, AbsentOrMalformedMeansNothing) {
  EXPECT_EQ(ParseFailpoint("", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("ab=crash", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=explode", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash@", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash@0", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash@1x", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash+ms", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash+5", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=crash+5s", "a").kind, Kind::kNone);
  EXPECT_EQ(ParseFailpoint("a=error+5ms", "a").kind, Kind::kNone);
}

}  // namespace
}  // namespace etcpp::base
