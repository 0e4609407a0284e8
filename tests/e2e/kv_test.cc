// Debian's etcdctl against etcpp and against Debian's etcd, side by side: the same
// session must print the same text, exit with the same codes and fail with the same
// errors. Only the client address, timings and etcdctl's own log timestamps are normalised: both
// servers get the same name and peer URL, hence the same member and cluster ids.
#include <gtest/gtest.h>

#include <regex>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

struct Step {
  Step(std::vector<std::string> a, std::string in = "") : args(std::move(a)), input(std::move(in)) {}
  std::vector<std::string> args;
  std::string input;
};

std::string Normalize(std::string text, const Server& server) {
  text = std::regex_replace(text, std::regex(server.endpoint()), "ENDPOINT");
  // etcdctl's own log lines carry a timestamp and a random client id.
  text = std::regex_replace(text, std::regex("\"ts\":\"[^\"]*\""), "\"ts\":T");
  text = std::regex_replace(text, std::regex("client-[0-9a-f-]{36}"), "client-UUID");
  // Go prints durations as 1.2s, 3.4ms or 567.8µs; µ is two bytes, so no [µmn] class.
  text = std::regex_replace(text, std::regex("took = [0-9.]+(µ|m|n)?s"), "took = T");
  return text;
}

std::string Transcript(const Server& server, const std::vector<Step>& steps) {
  std::string out;
  for (const Step& step : steps) {
    CommandResult r = server.Etcdctl(step.args, step.input);
    out += "$ etcdctl";
    for (const auto& a : step.args) out += " '" + a + "'";
    out += "\n" + r.out + r.err + "[exit " + std::to_string(r.exit_code) + "]\n";
  }
  return Normalize(out, server);
}

class SideBySide : public ::testing::Test {
 protected:
  void ExpectSame(const std::vector<Step>& steps, const std::vector<std::string>& flags = {}) {
    auto run = RunSideBySide([&](const Server& server) { return Transcript(server, steps); }, flags);
    ASSERT_EQ(run.failure, "");
    EXPECT_EQ(run.etcpp, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
  }
};

TEST_F(SideBySide, PutGetDeleteSession) {
  ExpectSame({
      {{"put", "foo", "bar"}},
      {{"get", "foo"}},
      {{"get", "foo", "-w", "json"}},
      {{"put", "foo", "baz", "--prev-kv"}},
      {{"get", "foo", "--rev", "2"}},
      {{"get", "foo", "-w", "fields"}},
      {{"put", "a", "1"}},
      {{"put", "b", "2"}},
      {{"put", "c", "3"}},
      {{"put", "c", "4"}},
      {{"get", "a", "c"}},
      {{"get", "", "--prefix", "--keys-only"}},
      {{"get", "", "--prefix", "--limit", "2", "-w", "json"}},
      {{"get", "", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND"}},
      {{"get", "", "--prefix", "--sort-by", "VERSION", "-w", "json"}},
      {{"get", "--from-key", "b"}},
      {{"get", "nothing"}},
      {{"get", "", "--prefix", "--print-value-only"}},
      {{"get", "a", "-w", "table"}},
      {{"del", "a", "--prev-kv"}},
      {{"del", "nothing"}},
      {{"del", "", "--prefix"}},
      {{"get", "", "--prefix", "-w", "json"}},
  });
}

TEST_F(SideBySide, TxnSession) {
  ExpectSame({
      {{"put", "k", "v"}},
      {{"txn"}, "value(\"k\") = \"v\"\n\nput k v2\nget k\n\nput k other\n\n"},
      {{"txn", "-w", "json"}, "mod(\"k\") > \"0\"\n\nget k\ndel k\n\n\n"},
      {{"txn"}, "version(\"k\") = \"0\"\n\nput x 1\n\nget k\n\n"},
      {{"txn"}, "create(\"x\") != \"0\"\n\nput x 2\nput x 3\n\n\n"},
      {{"txn"}, "\nput y 1\ndel y\n\n\n"},
      {{"get", "", "--prefix"}},
  });
}

TEST_F(SideBySide, CompactionAndRevisions) {
  ExpectSame({
      {{"put", "r", "1"}},
      {{"put", "r", "2"}},
      {{"put", "r", "3"}},
      {{"compaction", "3"}},
      {{"get", "r", "--rev", "2"}},
      {{"get", "r", "--rev", "3"}},
      {{"get", "r", "--rev", "99"}},
      {{"compaction", "2"}},
      {{"compaction", "99"}},
      {{"defrag"}},
      {{"get", "r", "-w", "json"}},
      {{"endpoint", "health"}},
  });
}

// Every bad input gets etcd's own error, and nothing is lost by it.
TEST_F(SideBySide, BadInputGetsEtcdsErrors) {
  std::string txn_129_ops;
  for (int i = 0; i < 129; ++i) txn_129_ops += "put key" + std::to_string(i) + " v\n";
  ExpectSame({
      {{"put", "keep", "me"}},
      {{"put", "", "value"}},
      {{"get", ""}},
      {{"del", ""}},
      {{"txn"}, "\n" + txn_129_ops + "\n\n"},
      {{"txn"}, "\nput dup 1\nput dup 2\n\n\n"},
      {{"txn"}, "\nput a 1\ndel a\n\n\n"},
      {{"put", "big"}, std::string(2 * 1024 * 1024, 'x')},
      {{"put", "--ignore-value", "keep", "new"}},
      {{"put", "--ignore-value", "absent"}},
      {{"get", "keep"}},
  });
}

TEST_F(SideBySide, MaxRequestBytesAndTxnOpsFlags) {
  ExpectSame({{{"put", "small"}, std::string(200, 'x')},
              {{"put", "large"}, std::string(2000, 'x')},
              {{"txn"}, "\nput a 1\nput b 2\nput c 3\n\n\n"},
              {{"get", "", "--prefix", "--keys-only"}}},
             {"--max-request-bytes", "1024", "--max-txn-ops", "2"});
}

}  // namespace
}  // namespace etcpp::e2e
