#include "base/log.h"

#include <gtest/gtest.h>

namespace etcpp::base {
namespace {

TEST(Log, LinesAreZapShapedJson) {
  ::testing::internal::CaptureStderr();
  Log(LogLevel::kInfo, "starting etcpp", {{"name", "default"}, {"port", 2379}});
  std::string out = ::testing::internal::GetCapturedStderr();
  auto line = nlohmann::ordered_json::parse(out);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "starting etcpp");
  EXPECT_EQ(line["name"], "default");
  EXPECT_EQ(line["port"], 2379);
  EXPECT_EQ(line["caller"].get<std::string>().rfind("base/log_test.cc:", 0), 0u) << line["caller"];
  std::string ts = line["ts"];
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-11-25T14:40:01.123Z
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per call";
  // zap's key order: level, ts, caller, msg, then the fields.
  EXPECT_EQ(out.find("{\"level\""), 0u);
}

TEST(Log, LevelFiltersLowerLevels) {
  SetLogLevel(LogLevel::kWarn);
  ::testing::internal::CaptureStderr();
  Log(LogLevel::kInfo, "hidden");
  Log(LogLevel::kError, "shown");
  std::string out = ::testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kInfo);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("shown"), std::string::npos);
}

TEST(Log, ParsesEtcdLevelNames) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("loud"), std::nullopt);
}

TEST(Log, InvalidUtf8DoesNotThrow) {
  ::testing::internal::CaptureStderr();
  Log(LogLevel::kInfo, "key", {{"key", std::string("\xff\xfe")}});
  EXPECT_FALSE(::testing::internal::GetCapturedStderr().empty());
}

}  // namespace
}  // namespace etcpp::base
