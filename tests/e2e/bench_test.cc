// etcpp-bench against a real etcpp for about a second per command: the output has the
// shape of etcd's benchmark tool (and of --json), whatever the figures. Bad flags get
// the tool's error and exit code 1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

class BenchSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(Server::Kind::kEtcpp, dir_.path() + "/data");
    ASSERT_TRUE(server_->Healthy()) << server_->Log();
  }

  CommandResult Bench(std::vector<std::string> args) {
    args.insert(args.begin(), {ETCPP_BENCH_BINARY, "--endpoints", server_->endpoint()});
    return e2e::Run(args, "", {}, 120);
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
};

// One etcd-style report: the summary, an 11-line histogram, the percentiles.
void ExpectReport(const std::string& text) {
  const std::string number = "[0-9]+\\.[0-9]{4}";
  const std::regex shape(
      "\nSummary:\n"
      "  Total:\t" + number + " secs\\.\n"
      "  Slowest:\t" + number + " secs\\.\n"
      "  Fastest:\t" + number + " secs\\.\n"
      "  Average:\t" + number + " secs\\.\n"
      "  Stddev:\t" + number + " secs\\.\n"
      "  Requests/sec:\t" + number + "\n"
      "\nResponse time histogram:\n"
      "(  " + number + " \\[[0-9]+\\]\t\\|(\u220e)*\n){11}"
      "\nLatency distribution:\n"
      "(  [0-9.]+% in " + number + " secs\\.\n)+");
  EXPECT_TRUE(std::regex_search(text, shape)) << text;
  EXPECT_NE(text.find("  50% in "), std::string::npos) << text;
  EXPECT_EQ(text.find("Error distribution"), std::string::npos) << text;
}

TEST_F(BenchSmoke, PutPrintsEtcdsReport) {
  CommandResult r = Bench({"--clients", "16", "--conns", "2", "put", "--total", "500", "--val-size", "256",
                           "--key-space-size", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectReport(r.out);
}

TEST_F(BenchSmoke, RangeAndTxnMixedReports) {
  CommandResult range = Bench({"--clients", "16", "range", "foo", "--consistency", "s", "--total", "500"});
  ASSERT_EQ(range.exit_code, 0) << range.err;
  EXPECT_EQ(range.out.rfind("bench with serializable range\n", 0), 0u) << range.out;
  ExpectReport(range.out);

  CommandResult mixed = Bench({"--clients", "8", "txn-mixed", "--total", "400", "--key-space-size", "50"});
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  EXPECT_TRUE(std::regex_search(mixed.out, std::regex("Total Read Ops: [0-9]+\nDetails:\nSummary:")))
      << mixed.out;
  EXPECT_TRUE(std::regex_search(mixed.out, std::regex("Total Write Ops: [0-9]+\nDetails:\nSummary:")))
      << mixed.out;
}

TEST_F(BenchSmoke, JsonHasEveryRequestAndThePercentiles) {
  CommandResult r = Bench({"--json", "--clients", "4", "put", "--total", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  const auto& put = json.at("put");
  EXPECT_EQ(put.at("requests"), 200);
  EXPECT_TRUE(put.at("errors").empty());
  EXPECT_GT(put.at("requests_per_sec").get<double>(), 0);
  for (const char* p : {"p10", "p25", "p50", "p75", "p90", "p95", "p99", "p99.9"})
    EXPECT_TRUE(put.at("percentiles_secs").contains(p)) << p;
  EXPECT_GT(json.at("client_cpu_secs").get<double>(), 0);
}

// Every check of the command line, with the message etcd's benchmark prints for it.
TEST_F(BenchSmoke, BadFlagsAreRefused) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"put", "--key-space-size", "0"}, "expected positive --key-space-size, got (0)\n"},
      {{"txn-put", "--key-space-size", "-1"}, "expected positive --key-space-size, got (-1)\n"},
      {{"txn-mixed", "--key-space-size", "0"}, "expected positive --key-space-size, got (0)\n"},
      {{"txn-put", "--txn-ops", "0"}, "expected positive --txn-ops, got (0)\n"},
      {{"range"}, "range needs a key and an optional end of range\n"},
      {{"range", "a", "b", "c"}, "range needs a key and an optional end of range\n"},
      {{"range", "a", "--consistency", "x"}, "--consistency must be l or s\n"},
      {{"txn-mixed", "--consistency", "x"}, "--consistency must be l or s\n"},
      {{"watch", "--streams", "0"}, "--streams, --watch-per-stream and --watched-key-total must be positive\n"},
      {{"put", "--no-such-flag", "1"}, "Error: unknown flag: --no-such-flag\n"},
      {{"put", "--total"}, "Error: flag needs an argument: --total\n"},
      {{"put", "--total", "ten"},
       "Error: invalid argument \"ten\" for \"--total\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax\n"},
      {{"txn-mixed", "--rw-ratio", "x"},
       "Error: invalid argument \"x\" for \"--rw-ratio\" flag: strconv.ParseFloat: parsing \"x\": invalid syntax\n"},
      {{"--dial-timeout", "soon", "put"},
       "Error: invalid argument \"soon\" for \"--dial-timeout\" flag: time: invalid duration \"soon\"\n"},
      {{"--conns", "0", "put"}, "Error: --conns and --clients must be at least 1\n"},
      {{"frobnicate"}, "Error: unknown command \"frobnicate\" for \"etcpp-bench\"\n"},
  };
  for (const auto& [args, message] : cases) {
    CommandResult r = Bench(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, message) << args[0];
  }
}

}  // namespace
}  // namespace etcpp::e2e
