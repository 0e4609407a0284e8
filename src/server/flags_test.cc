#include "server/flags.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace etcpp::server {
namespace {

using Env = std::map<std::string, std::string>;

Config ParseOk(const std::vector<std::string>& args, const Env& env = {}) {
  auto result = ParseFlags(args, env);
  if (auto* error = std::get_if<FlagError>(&result)) {
    ADD_FAILURE() << error->message;
    return {};
  }
  return std::get<ParsedFlags>(result).config;
}

FlagError ParseFails(const std::vector<std::string>& args, const Env& env = {}) {
  auto result = ParseFlags(args, env);
  EXPECT_TRUE(std::holds_alternative<FlagError>(result));
  return std::holds_alternative<FlagError>(result) ? std::get<FlagError>(result) : FlagError{};
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(Flags, DefaultsAreEtcdsWithAnEtcppDataDir) {
  Config c = ParseOk({});
  EXPECT_EQ(c.name, "default");
  EXPECT_EQ(c.data_dir, "default.etcpp");
  EXPECT_EQ(c.initial_cluster, "default=http://localhost:2380");
  EXPECT_EQ(c.listen_client_urls, std::vector<std::string>{"http://localhost:2379"});
  EXPECT_EQ(c.listen_peer_urls, std::vector<std::string>{"http://localhost:2380"});
  EXPECT_EQ(c.initial_cluster_state, "new");
  EXPECT_EQ(c.snapshot_count, 100000u);
  EXPECT_EQ(c.max_request_bytes, 1572864u);
  EXPECT_EQ(c.max_txn_ops, 128u);
  EXPECT_EQ(c.BackendQuotaBytes(), int64_t{2} << 30);
}

TEST(Flags, GoSyntaxVariantsAllSet) {
  Config c = ParseOk({"--name", "n1", "-data-dir=/tmp/d", "--pre-vote=false", "-snapshot-count", "7",
                      "--listen-client-urls=http://127.0.0.1:1,http://127.0.0.1:2",
                      "--backend-batch-interval", "1m30s", "--client-cert-auth"});
  EXPECT_EQ(c.name, "n1");
  EXPECT_EQ(c.data_dir, "/tmp/d");
  EXPECT_FALSE(c.pre_vote);
  EXPECT_EQ(c.snapshot_count, 7u);
  EXPECT_EQ(c.listen_client_urls.size(), 2u);
  EXPECT_EQ(c.backend_batch_interval_ms, 90000u);
  EXPECT_TRUE(c.client_security.client_cert_auth);
  EXPECT_EQ(c.initial_cluster, "n1=http://localhost:2380");
}

TEST(Flags, AutoCompactionRetentionReadsAsItsModeSays) {
  auto retention = [](std::vector<std::string> args) {
    return std::get<ParsedFlags>(ParseFlags(args, {})).config.AutoCompactionRetention();
  };
  EXPECT_EQ(retention({}), 0u);
  EXPECT_EQ(retention({"--auto-compaction-retention", "2"}), 2u * 3600 * 1000);  // hours
  EXPECT_EQ(retention({"--auto-compaction-retention", "1h30m"}), 90u * 60 * 1000);
  EXPECT_EQ(retention({"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"}), 1000u);
}

TEST(Flags, HelpAndVersionAreActions) {
  EXPECT_EQ(std::get<ParsedFlags>(ParseFlags({"--help"}, {})).action, Action::kHelp);
  EXPECT_EQ(std::get<ParsedFlags>(ParseFlags({"-h"}, {})).action, Action::kHelp);
  EXPECT_EQ(std::get<ParsedFlags>(ParseFlags({"--version"}, {})).action, Action::kVersion);
  EXPECT_NE(Usage().find("  --name 'default'\n    Human-readable name for this member."),
            std::string::npos);
}

// The messages are Go's flag package's and etcd's, word for word.
TEST(Flags, BadInputGetsEtcdsMessageAndExitCode) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string first_line;
  };
  const Case cases[] = {
      {{"--bogus"}, 2, "flag provided but not defined: -bogus"},
      {{"--snapshot-count", "abc"}, 2, "invalid value \"abc\" for flag -snapshot-count: parse error"},
      {{"--snapshot-count=-1"}, 2, "invalid value \"-1\" for flag -snapshot-count: parse error"},
      {{"--pre-vote=maybe"}, 2, "invalid boolean value \"maybe\" for -pre-vote: parse error"},
      {{"--initial-cluster-state", "foo"}, 2,
       "invalid value \"foo\" for flag -initial-cluster-state: invalid value"},
      {{"--backend-batch-interval", "soon"}, 2,
       "invalid value \"soon\" for flag -backend-batch-interval: parse error"},
      {{"--name"}, 2, "flag needs an argument: -name"},
      {{"---name"}, 2, "bad flag syntax: ---name"},
      {{"stray"}, 1, "error verifying flags, 'stray' is not a valid flag. See 'etcpp --help'."},
      {{"--election-timeout", "100"}, 1,
       "error verifying flags, --election-timeout[100ms] should be at least as 5 times as "
       "--heartbeat-interval[100ms]. See 'etcpp --help'."},
      {{"--election-timeout", "60000"}, 1,
       "error verifying flags, --election-timeout[60000ms] is too long, and should be set less "
       "than 50000ms. See 'etcpp --help'."},
      {{"--auto-compaction-mode", "foo"}, 1,
       "error verifying flags, unknown auto-compaction-mode \"foo\". See 'etcpp --help'."},
      {{"--listen-client-urls", "localhost:2379"}, 1,
       "error verifying flags, --listen-client-urls URL scheme must be http, https, unix, or "
       "unixs: localhost:2379. See 'etcpp --help'."},
      {{"--listen-client-urls", "http://localhost"}, 1,
       "error verifying flags, --listen-client-urls URL address does not have the form "
       "\"host:port\": http://localhost. See 'etcpp --help'."},
      {{"--auto-compaction-retention", "soon"}, 1,
       "error verifying flags, invalid auto-compaction-retention \"soon\". See 'etcpp --help'."},
      {{"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h"}, 1,
       "error verifying flags, invalid auto-compaction-retention \"1h\". See 'etcpp --help'."},
      {{"--bcrypt-cost", "3"}, 1,
       "error verifying flags, invalid bcrypt-cost 3, must be between 4 and 31. See 'etcpp --help'."},
  };
  for (const Case& c : cases) {
    FlagError error = ParseFails(c.args);
    EXPECT_EQ(error.exit_code, c.exit_code) << c.args[0];
    EXPECT_EQ(FirstLine(error.message), c.first_line);
    if (c.exit_code == 2) {
      EXPECT_NE(error.message.find("Usage:"), std::string::npos);
    }
  }
}

TEST(Flags, EnvironmentSetsFlagsTheCommandLineDidNotGive) {
  Config c = ParseOk({"--name", "n1"}, {{"ETCD_SNAPSHOT_COUNT", "9"}, {"HOME", "/root"}});
  EXPECT_EQ(c.name, "n1");
  EXPECT_EQ(c.snapshot_count, 9u);
}

TEST(Flags, EnvironmentShadowedByAFlagIsAnError) {
  FlagError error = ParseFails({"--name", "y"}, {{"ETCD_NAME", "x"}});
  EXPECT_EQ(error.exit_code, 1);
  EXPECT_EQ(error.message,
            "conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding "
            "command-line flag (either unset environment variable or disable flag)");
}

TEST(Flags, UnknownEtcdVariableIsWarnedAbout) {
  auto parsed = std::get<ParsedFlags>(ParseFlags({}, {{"ETCD_BOGUS", "1"}}));
  ASSERT_EQ(parsed.warnings.size(), 1u);
  EXPECT_EQ(parsed.warnings[0], "unrecognized environment variable ETCD_BOGUS=1");
}

TEST(Flags, BadEnvironmentValueIsRefused) {
  FlagError error = ParseFails({}, {{"ETCD_SNAPSHOT_COUNT", "lots"}});
  EXPECT_EQ(error.message, "invalid value \"lots\" for flag -snapshot-count: parse error");
}

class ConfigFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "/etcpp-flags-test.yaml";
};

TEST_F(ConfigFile, KeysAreFlagNamesAndReplaceFlagsAndEnvironment) {
  std::string path = Write(
      "name: infra1\n"
      "data-dir: /var/lib/infra1\n"
      "listen-client-urls: http://127.0.0.1:12379,http://127.0.0.1:22379\n"
      "election-timeout: 2000\n"
      "pre-vote: false\n"
      "log-outputs: [stderr]\n"
      "client-transport-security:\n"
      "  cert-file: /c.pem\n"
      "  client-cert-auth: true\n"
      "peer-transport-security:\n"
      "  cert-file: /p.pem\n");
  Config c = ParseOk({"--config-file", path, "--snapshot-count", "3"}, {{"ETCD_MAX_WALS", "1"}});
  EXPECT_EQ(c.name, "infra1");
  EXPECT_EQ(c.data_dir, "/var/lib/infra1");
  EXPECT_EQ(c.listen_client_urls.size(), 2u);
  EXPECT_EQ(c.election_timeout_ms, 2000u);
  EXPECT_FALSE(c.pre_vote);
  EXPECT_EQ(c.log_outputs, std::vector<std::string>{"stderr"});
  EXPECT_EQ(c.client_security.cert_file, "/c.pem");
  EXPECT_TRUE(c.client_security.client_cert_auth);
  EXPECT_EQ(c.peer_security.cert_file, "/p.pem");
  EXPECT_EQ(c.snapshot_count, 100000u) << "flags are ignored when a config file is given";
  EXPECT_EQ(c.max_wals, 5u) << "so is the environment";
}

TEST_F(ConfigFile, BadValueOrSyntaxIsRefused) {
  FlagError error = ParseFails({"--config-file", Write("snapshot-count: many\n")});
  EXPECT_EQ(error.exit_code, 1);
  EXPECT_NE(error.message.find("invalid value \"many\" for flag -snapshot-count"), std::string::npos)
      << error.message;
  error = ParseFails({"--config-file", Write("name: [unclosed\n")});
  EXPECT_NE(error.message.find("failed to load config file"), std::string::npos) << error.message;
  error = ParseFails({"--config-file", "/nonexistent/etcpp.yaml"});
  EXPECT_NE(error.message.find("/nonexistent/etcpp.yaml"), std::string::npos) << error.message;
}

}  // namespace
}  // namespace etcpp::server
