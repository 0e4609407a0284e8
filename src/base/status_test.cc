#include "base/status.h"

#include <gtest/gtest.h>

namespace etcpp::base {
namespace {

Status FailIfNegative(int x) {
  if (x < 0) return Status(Code::kInvalidArgument, "negative");
  return Status::Ok();
}

Status Twice(int a, int b) {
  ETCPP_RETURN_IF_ERROR(FailIfNegative(a));
  ETCPP_RETURN_IF_ERROR(FailIfNegative(b));
  return Status::Ok();
}

TEST(Status, OkIsDefaultAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, ErrorCarriesKindAndMessage) {
  Status s(Code::kCorruption, "wal: bad crc at 0000.wal:4096");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.ToString(), "corruption: wal: bad crc at 0000.wal:4096");
}

TEST(Status, ReturnIfErrorStopsAtFirstFailure) {
  EXPECT_TRUE(Twice(1, 2).ok());
  EXPECT_EQ(Twice(1, -2).message(), "negative");
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad(Status(Code::kNotFound, "no such key"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
}

TEST(AssertDeathTest, BrokenInvariantAborts) {
  EXPECT_DEATH(ETCPP_ASSERT_MSG(1 + 1 == 3, "arithmetic"), "assertion failed.*arithmetic");
}

}  // namespace
}  // namespace etcpp::base
