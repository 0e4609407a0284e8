// Unit tests of the pure pieces behind etcppctl's byte-for-byte compatibility: pflag's
// parsing and messages, Go's tabwriter, %q quoting and durations.
#include "cli.h"

#include <gtest/gtest.h>

#include "lmdbfile.h"
#include "printer.h"
#include "tabwriter.h"

namespace etcpp::ctl {
namespace {

Command GetLikeCommand() {
  Command command;
  command.use = "get [options] <key>";
  command.AddFlag("limit", "", FlagType::kInt, "0", "Maximum number of results");
  command.AddFlag("prefix", "", FlagType::kBool, "false", "Get keys with matching prefix");
  command.AddFlag("write-out", "w", FlagType::kString, "simple", "format");
  return command;
}

std::string ParseError(const std::vector<std::string>& args) {
  Command command = GetLikeCommand();
  std::vector<std::string> positional;
  std::string error;
  EXPECT_FALSE(ParseFlagsQuietly(command, args, &positional, &error));
  return error;
}

TEST(FlagParsingTest, AcceptsPflagSyntaxAnywhereAmongArguments) {
  Command command = GetLikeCommand();
  std::vector<std::string> positional;
  std::string error;
  ASSERT_TRUE(ParseFlagsQuietly(command, {"k1", "--limit", "5", "--prefix", "-wjson", "k2", "--", "--x"},
                                &positional, &error))
      << error;
  EXPECT_EQ(positional, (std::vector<std::string>{"k1", "k2", "--x"}));
  EXPECT_EQ(command.GetInt("limit"), 5);
  EXPECT_TRUE(command.GetBool("prefix"));
  EXPECT_EQ(command.GetString("write-out"), "json");
  EXPECT_EQ(command.args_at_dash, 2);
}

TEST(FlagParsingTest, ReportsErrorsInPflagWords) {
  EXPECT_EQ(ParseError({"--frob"}), "unknown flag: --frob");
  EXPECT_EQ(ParseError({"-x"}), "unknown shorthand flag: 'x' in -x");
  EXPECT_EQ(ParseError({"--limit"}), "flag needs an argument: --limit");
  EXPECT_EQ(ParseError({"--limit=abc"}),
            "invalid argument \"abc\" for \"--limit\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(ParseError({"--prefix=maybe"}),
            "invalid argument \"maybe\" for \"--prefix\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax");
  EXPECT_EQ(ParseError({"---x"}), "bad flag syntax: ---x");
}

TEST(GoDurationTest, ParsesGoDurations) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseGoDuration("1m30s", &ms));
  EXPECT_EQ(ms, 90000);
  EXPECT_TRUE(ParseGoDuration("250ms", &ms));
  EXPECT_EQ(ms, 250);
  EXPECT_TRUE(ParseGoDuration("1.5h", &ms));
  EXPECT_EQ(ms, 5400000);
  EXPECT_FALSE(ParseGoDuration("abc", &ms));
  EXPECT_FALSE(ParseGoDuration("5", &ms));
}

TEST(TabAlignTest, PadsColumnsWithTabsLikeGo) {
  // Widths 5 and 11 (+1 padding) round up to one and two tab stops.
  EXPECT_EQ(TabAlign("a\tx\nlonger-cell\ty\n"), "a\t\tx\nlonger-cell\ty\n");
  // A line without a tab ends the column block.
  EXPECT_EQ(TabAlign("ab\tx\nplain\nabcdefghij\ty\n"), "ab\tx\nplain\nabcdefghij\ty\n");
}

TEST(GoQuoteTest, QuotesLikeStrconvQuote) {
  EXPECT_EQ(GoQuote("plain"), "\"plain\"");
  EXPECT_EQ(GoQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(GoQuote(std::string("\x01\xff", 2)), "\"\\x01\\xff\"");
  EXPECT_EQ(GoQuote("h\xc3\xa9"), "\"h\xc3\xa9\"");  // valid UTF-8 stays
}

TEST(HexBytesTest, EscapesEveryByte) { EXPECT_EQ(HexBytes("fo"), "\\x66\\x6f"); }

// The magic after the first page's 16-byte header tells etcpp (LMDB) snapshots from
// etcd (bbolt) ones; anything else, or a file too short to hold it, is neither.
TEST(SnapshotFormatTest, TellsLmdbFromBboltByMagic) {
  std::string page(64, '\0');
  page.replace(16, 4, "\xde\xc0\xef\xbe");  // 0xBEEFC0DE, little-endian
  EXPECT_EQ(DetectSnapshotFormat(page), SnapshotFormat::kLmdb);
  page.replace(16, 4, "\xed\xda\x0c\xed");  // 0xED0CDAED
  EXPECT_EQ(DetectSnapshotFormat(page), SnapshotFormat::kBolt);
  page.replace(16, 4, "junk");
  EXPECT_EQ(DetectSnapshotFormat(page), SnapshotFormat::kUnknown);
  EXPECT_EQ(DetectSnapshotFormat(page.substr(0, 19)), SnapshotFormat::kUnknown);
}

}  // namespace
}  // namespace etcpp::ctl
