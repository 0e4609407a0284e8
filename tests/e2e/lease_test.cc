// Leases through Debian's etcdctl: side by side with Debian's etcd (the same session
// prints the same text), and etcpp's expiry, keep-alive and restart behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// "lease 694d7a4b3f9c1a2b granted with TTL(60s)" → "694d7a4b3f9c1a2b".
std::string GrantedId(const CommandResult& r) {
  std::smatch m;
  std::regex granted("lease ([0-9a-f]+) granted");
  return std::regex_search(r.out, m, granted) ? m[1].str() : "";
}

// Runs `steps`, where "$L" stands for the lease the last `lease grant` step granted.
// Lease ids and remaining TTLs are normalised (ids are random; a second may pass).
// etcd lists a lease's keys in Go map order, which differs from run to run: the items of
// each list matched by `list` (group 1, separated by `separator`) are sorted.
std::string SortLists(const std::string& text, const std::regex& list, char separator) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), list), end; it != end; ++it) {
    const auto& items = (*it)[1];
    std::vector<std::string> parts;
    std::string part;
    for (char c : items.str()) {
      if (c == separator) {
        parts.push_back(part);
        part.clear();
      } else {
        part += c;
      }
    }
    parts.push_back(part);
    std::sort(parts.begin(), parts.end());
    std::string sorted;
    for (const auto& p : parts) sorted += (sorted.empty() ? "" : std::string(1, separator)) + p;
    out.append(last, items.first);
    out += sorted;
    last = items.second;
  }
  out.append(last, text.cend());
  return out;
}

std::string LeaseTranscript(const Server& server, const std::vector<std::vector<std::string>>& steps) {
  std::string out, lease = "0";
  for (auto args : steps) {
    for (auto& a : args) a = std::regex_replace(a, std::regex("\\$L"), lease);
    CommandResult r = server.Etcdctl(args);
    if (args.size() > 1 && args[0] == "lease" && args[1] == "grant" && !GrantedId(r).empty()) {
      lease = GrantedId(r);
    }
    out += "$ etcdctl";
    for (const auto& a : args) out += " '" + a + "'";
    out += "\n" + r.out + r.err + "[exit " + std::to_string(r.exit_code) + "]\n";
    if (lease != "0") {
      out = std::regex_replace(out, std::regex(lease), "LEASE");
      out = std::regex_replace(out, std::regex(std::to_string(std::stoull(lease, nullptr, 16))), "LEASEDEC");
    }
  }
  out = std::regex_replace(out, std::regex("remaining\\([0-9]+s\\)"), "remaining(Ns)");
  out = std::regex_replace(out, std::regex("\"ttl\":[0-9]+"), "\"ttl\":N");
  out = std::regex_replace(out, std::regex("\"ts\":\"[^\"]*\""), "\"ts\":T");
  out = std::regex_replace(out, std::regex("client-[0-9a-f-]{36}"), "client-UUID");
  out = SortLists(out, std::regex("attached keys\\(\\[([^\\]]*)\\]"), ' ');
  out = SortLists(out, std::regex("\"keys\":\\[([^\\]]*)\\]"), ',');
  return std::regex_replace(out, std::regex(server.endpoint()), "ENDPOINT");
}

TEST(LeaseSideBySide, GrantAttachTimeToLiveKeepAliveRevokeAndErrors) {
  const std::vector<std::vector<std::string>> steps = {
      {"lease", "grant", "60"},
      {"put", "foo", "bar", "--lease=$L"},
      {"put", "foo2", "bar2", "--lease=$L"},
      {"put", "plain", "x"},
      {"lease", "timetolive", "$L"},
      {"lease", "timetolive", "$L", "--keys"},
      {"lease", "timetolive", "$L", "--keys", "-w", "json"},
      {"lease", "list"},
      {"lease", "keep-alive", "--once", "$L"},
      {"put", "foo2", "unleased"},  // detaches foo2
      {"lease", "timetolive", "$L", "--keys"},
      {"get", "foo", "-w", "json"},
      {"put", "k", "v", "--lease=1234"},
      {"lease", "revoke", "$L"},
      {"get", "", "--prefix"},
      {"lease", "revoke", "$L"},
      {"lease", "timetolive", "$L"},
      {"lease", "keep-alive", "--once", "$L"},
      {"lease", "list"},
      {"lease", "grant", "1"},  // raised to the minimum TTL
      {"lease", "grant", "9000000001"},
      {"lease", "grant", "9000000000"},
      {"lease", "revoke", "zz"},
  };
  auto run = RunSideBySide([&](const Server& server) { return LeaseTranscript(server, steps); });
  ASSERT_EQ(run.failure, "");
  EXPECT_EQ(run.etcpp, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
}

// The gateway's lease routes, and the errors etcdctl cannot provoke (a chosen id).
TEST(LeaseSideBySide, GatewayGrantWithIdTwiceAndTxnLease) {
  auto session = [](const Server& server) {
    auto post = [&](const std::string& path, const std::string& body) {
      CommandResult r = e2e::Run({"curl", "-s", "-X", "POST", "-d", body, server.url() + path});
      std::string out = std::regex_replace(r.out, std::regex("\"header\":\\{[^}]*\\},?"), "");
      return path + " " + body + "\n" + out + "\n";
    };
    std::string out;
    out += post("/v3/lease/grant", R"({"TTL":60,"ID":100})");
    out += post("/v3/lease/grant", R"({"TTL":60,"ID":100})");
    // Only the branch that runs must name a live lease.
    out += post("/v3/kv/txn", R"({"compare":[{"key":"eA==","target":"VERSION","version":"0"}],)"
                              R"("success":[{"requestPut":{"key":"eA==","value":"MQ==","lease":"100"}}],)"
                              R"("failure":[{"requestPut":{"key":"eA==","value":"Mg==","lease":"999"}}]})");
    out += post("/v3/kv/txn", R"({"compare":[{"key":"eA==","target":"VERSION","version":"0"}],)"
                              R"("success":[{"requestPut":{"key":"eA==","value":"MQ==","lease":"100"}}],)"
                              R"("failure":[{"requestPut":{"key":"eA==","value":"Mg==","lease":"999"}}]})");
    out += post("/v3/kv/lease/timetolive", R"({"ID":100,"keys":true})");
    out += post("/v3/lease/keepalive", R"({"ID":100})");
    out += post("/v3/kv/lease/leases", R"({})");
    out += post("/v3/kv/lease/revoke", R"({"ID":100})");
    out += post("/v3/lease/revoke", R"({"ID":100})");
    out += post("/v3/lease/timetolive", R"({"ID":100})");
    out += post("/v3/lease/keepalive", R"({"ID":100})");
    return std::regex_replace(out, std::regex("\"TTL\":\"5[0-9]\""), "\"TTL\":\"N\"");
  };
  auto run = RunSideBySide(session);
  ASSERT_EQ(run.failure, "");
  EXPECT_EQ(run.etcpp, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
}

int64_t HeaderRevision(const Server& server) {
  CommandResult r = server.Etcdctl({"get", "nothing", "-w", "json"});
  std::smatch m;
  std::regex revision("\"revision\":([0-9]+)");
  return std::regex_search(r.out, m, revision) ? std::stoll(m[1].str()) : -1;
}

TEST(Lease, ExpiresOnTimeAndItsKeysVanishAtOneRevision) {
  TempDir dir;
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp");
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  const int ttl_s = 3;
  auto granted_at = Clock::now();
  std::string lease = GrantedId(etcpp.Etcdctl({"lease", "grant", std::to_string(ttl_s)}));
  ASSERT_FALSE(lease.empty());
  for (const char* key : {"/svc/a", "/svc/b", "/svc/c"}) {
    ASSERT_EQ(etcpp.Etcdctl({"put", key, "up", "--lease=" + lease}).exit_code, 0);
  }
  int64_t before = HeaderRevision(etcpp);
  // Poll through the gateway (cheaper than starting etcdctl) until the keys are gone.
  std::string count;
  auto deadline = granted_at + std::chrono::seconds(ttl_s + 30);
  while (Clock::now() < deadline) {
    count = e2e::Run({"curl", "-s", "-X", "POST", "-d", R"({"key":"L3N2Yy8=","range_end":"L3N2YzA=","count_only":true})",
                 etcpp.url() + "/v3/kv/range"})
                .out;
    if (count.find("\"count\"") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto gone_after = Clock::now() - granted_at;
  ASSERT_EQ(count.find("\"count\""), std::string::npos) << "keys never expired: " << count;
  // Not before its TTL; within a second of TTL + election timeout (etcd's promise).
  EXPECT_GE(gone_after, std::chrono::seconds(ttl_s) - std::chrono::milliseconds(100));
  EXPECT_LE(gone_after, std::chrono::seconds(ttl_s + 1 + 1));
  EXPECT_EQ(HeaderRevision(etcpp), before + 1);
  EXPECT_NE(etcpp.Etcdctl({"lease", "timetolive", lease}).out.find("already expired"), std::string::npos);
}

TEST(Lease, KeepAliveHoldsALeasePastItsTtl) {
  TempDir dir;
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp");
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  std::string lease = GrantedId(etcpp.Etcdctl({"lease", "grant", "2"}));
  ASSERT_FALSE(lease.empty());
  ASSERT_EQ(etcpp.Etcdctl({"put", "alive", "1", "--lease=" + lease}).exit_code, 0);
  // etcdctl keep-alive renews every TTL/3 until killed (after 6 s: three TTLs).
  CommandResult kept = e2e::Run({"etcdctl", "--endpoints", etcpp.endpoint(), "lease", "keep-alive", lease}, "",
                           {{"ETCDCTL_API", "3"}}, 6);
  EXPECT_NE(kept.out.find("lease " + lease + " keepalived with TTL(2)"), std::string::npos) << kept.out << kept.err;
  EXPECT_EQ(etcpp.Etcdctl({"get", "alive", "--print-value-only"}).out, "1\n");
}

TEST(Lease, RestartKeepsLeasesAndTheirKeys) {
  TempDir dir;
  int peer_port = FreePort(), client_port = FreePort();
  std::string lease;
  {
    Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp", {}, peer_port, "default", client_port);
    ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
    lease = GrantedId(etcpp.Etcdctl({"lease", "grant", "100"}));
    ASSERT_FALSE(lease.empty());
    ASSERT_EQ(etcpp.Etcdctl({"put", "kept", "1", "--lease=" + lease}).exit_code, 0);
    etcpp.Stop(SIGKILL);  // nothing but the WAL's fsync to rely on
  }
  Server etcpp(Server::Kind::kEtcpp, dir.path() + "/etcpp", {}, peer_port, "default", client_port);
  ASSERT_TRUE(etcpp.Healthy()) << etcpp.Log();
  EXPECT_NE(etcpp.Etcdctl({"lease", "list"}).out.find(lease), std::string::npos);
  CommandResult ttl = etcpp.Etcdctl({"lease", "timetolive", lease, "--keys"});
  EXPECT_TRUE(std::regex_search(ttl.out, std::regex("granted with TTL\\(100s\\), remaining\\((9[0-9]|100)s\\), "
                                                    "attached keys\\(\\[kept\\]\\)")))
      << ttl.out << ttl.err;
  ASSERT_EQ(etcpp.Etcdctl({"lease", "revoke", lease}).exit_code, 0);
  EXPECT_EQ(etcpp.Etcdctl({"get", "kept"}).out, "");
}

}  // namespace
}  // namespace etcpp::e2e
