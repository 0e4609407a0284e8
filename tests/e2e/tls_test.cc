// TLS on the client and peer ports, with certificates made by the openssl CLI at test
// time: Debian's etcdctl, curl and python3-etcd3 over https against etcpp (and the same
// etcdctl session against Debian's etcd), clients refused by --client-cert-auth or not
// trusting the server's CA, start-up errors for bad TLS settings, and a 3-member cluster
// over https peer URLs with --peer-client-cert-auth that keeps a member of another CA out.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

// A CA, a server/peer certificate it signed (SAN 127.0.0.1 and localhost, usable for
// both ends of a connection as etcd's peer certificates are), a client certificate, and
// a second CA with a certificate of its own; and certificates of the first CA naming
// another address (127.0.0.9), only `localhost`, and only a name that resolves nowhere.
const char kMakeCertificates[] = R"(set -e
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key $1.key
  openssl req -x509 -new -key $1.key -out $1.pem -days 2 -subj "/CN=$1"
}
sign() {  # name CA extensions
  key $1.key
  openssl req -new -key $1.key -out $1.csr -subj "/CN=$1"
  printf '%s\n' "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 2 \
    -extfile $1.ext 2>/dev/null
}
ca ca
ca other-ca
sign server ca 'subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth'
sign client ca 'extendedKeyUsage=clientAuth'
sign other other-ca 'subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth'
sign elsewhere ca 'subjectAltName=IP:127.0.0.9
extendedKeyUsage=serverAuth,clientAuth'
sign named ca 'subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth,clientAuth'
sign misnamed ca 'subjectAltName=DNS:nowhere.invalid
extendedKeyUsage=serverAuth,clientAuth'
)";

class Certificates {
 public:
  Certificates() {
    auto made = e2e::Run({"sh", "-c", kMakeCertificates, "sh", dir_.path()});
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
  }
  std::string operator()(const std::string& file) const { return dir_.path() + "/" + file; }

 private:
  TempDir dir_;
};

std::string Url(const std::string& scheme, int port) { return scheme + "://127.0.0.1:" + std::to_string(port); }

// One member whose client URLs are https (tested) and http (the harness's health
// check, and a plain URL next to a secure one).
struct TlsMember {
  TlsMember(const Certificates& certs, const std::string& binary, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {binary,
                                     "--data-dir", dir.path() + "/data",
                                     "--listen-client-urls", Url("https", tls_port) + "," + Url("http", plain_port),
                                     "--advertise-client-urls", Url("https", tls_port),
                                     "--listen-peer-urls", Url("http", peer_port),
                                     "--initial-advertise-peer-urls", Url("http", peer_port),
                                     "--initial-cluster", "default=" + Url("http", peer_port),
                                     "--cert-file", certs("server.pem"),
                                     "--key-file", certs("server.key"),
                                     "--trusted-ca-file", certs("ca.pem"),
                                     "--client-cert-auth"};
    if (binary == "etcd") argv.insert(argv.end(), {"--logger", "zap", "--log-outputs", "stderr"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    server = std::make_unique<Server>(argv, dir.path() + "/log", plain_port);
  }

  TempDir dir;
  int tls_port = FreePort();
  int plain_port = FreePort();
  int peer_port = FreePort();
  std::unique_ptr<Server> server;
};

CommandResult Etcdctl(const std::string& endpoint, const std::vector<std::string>& tls,
                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"etcdctl", "--endpoints", endpoint, "--dial-timeout", "3s",
                                   "--command-timeout", "10s"};
  argv.insert(argv.end(), tls.begin(), tls.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return e2e::Run(argv, "", {{"ETCDCTL_API", "3"}}, 60);
}

// put, get, txn, and a watch replaying history, as one transcript.
std::string Session(const std::string& endpoint, const Certificates& certs) {
  const std::vector<std::string> tls = {"--cacert", certs("ca.pem"), "--cert", certs("client.pem"), "--key",
                                        certs("client.key")};
  std::string out;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"put", "foo", "bar"}, {"put", "foo2", "baz"}, {"get", "foo", "--prefix"}, {"del", "foo2"}}) {
    auto r = Etcdctl(endpoint, tls, args);
    out += r.out + r.err;
  }
  std::string ctl = "ETCDCTL_API=3 etcdctl --endpoints " + endpoint + " --cacert " + certs("ca.pem") + " --cert " +
                    certs("client.pem") + " --key " + certs("client.key");
  auto watched = e2e::Run({"sh", "-c",
                      ctl + " watch --prefix foo --rev 1 > \"$1\" 2>&1 & w=$!\n"
                            "for i in $(seq 300); do grep -q '^DELETE' \"$1\" && break; sleep 0.1; done\n"
                            "kill $w; cat \"$1\"",
                      "sh", certs("watch.out")});
  return out + watched.out;
}

TEST(Tls, EtcdctlSessionOverHttpsMatchesEtcd) {
  Certificates certs;
  TlsMember etcd(certs, "etcd");
  ASSERT_TRUE(etcd.server->Healthy()) << etcd.server->Log();
  std::string expected = Session(Url("https", etcd.tls_port), certs);
  TlsMember etcpp(certs, EtcppBinary());
  ASSERT_TRUE(etcpp.server->Healthy()) << etcpp.server->Log();
  EXPECT_EQ(Session(Url("https", etcpp.tls_port), certs), expected);
  EXPECT_NE(expected.find("PUT\nfoo2\nbaz\nDELETE\nfoo2"), std::string::npos) << expected;
}

TEST(Tls, CurlReachesHealthAndGatewayOverHttps) {
  Certificates certs;
  TlsMember member(certs, EtcppBinary());
  ASSERT_TRUE(member.server->Healthy()) << member.server->Log();
  std::vector<std::string> curl = {"curl", "-sS", "-m", "10", "--cacert", certs("ca.pem"), "--cert",
                                   certs("client.pem"), "--key", certs("client.key")};
  auto get = [&](std::vector<std::string> args) {
    args.insert(args.begin(), curl.begin(), curl.end());
    return e2e::Run(args);
  };
  auto health = get({Url("https", member.tls_port) + "/health"});
  EXPECT_NE(health.out.find(R"("health":"true")"), std::string::npos) << health.err;
  auto put = get({"-d", R"({"key":"Zm9v","value":"YmFy"})", Url("https", member.tls_port) + "/v3/kv/put"});
  EXPECT_NE(put.out.find("\"revision\":\"2\""), std::string::npos) << put.out << put.err;
  auto range = get({"-d", R"({"key":"Zm9v"})", Url("https", member.tls_port) + "/v3/kv/range"});
  EXPECT_NE(range.out.find("\"value\":\"YmFy\""), std::string::npos) << range.out << range.err;
  // The plain URL next to it is plain HTTP, without client certificates.
  auto plain = e2e::Run({"curl", "-sS", "-m", "10", Url("http", member.plain_port) + "/health"});
  EXPECT_NE(plain.out.find(R"("health":"true")"), std::string::npos) << plain.err;
  auto plain_ctl = Etcdctl(Url("http", member.plain_port), {}, {"get", "foo", "--print-value-only"});
  EXPECT_EQ(plain_ctl.out, "bar\n") << plain_ctl.err;
}

TEST(Tls, ClientWithoutTrustedCertificateIsRefused) {
  Certificates certs;
  TlsMember member(certs, EtcppBinary());
  ASSERT_TRUE(member.server->Healthy()) << member.server->Log();
  const std::string endpoint = Url("https", member.tls_port);
  auto no_cert = Etcdctl(endpoint, {"--cacert", certs("ca.pem")}, {"put", "foo", "bar"});
  EXPECT_NE(no_cert.exit_code, 0) << no_cert.out;
  auto other_ca_cert = Etcdctl(endpoint, {"--cacert", certs("ca.pem"), "--cert", certs("other.pem"), "--key",
                                          certs("other.key")},
                               {"put", "foo", "bar"});
  EXPECT_NE(other_ca_cert.exit_code, 0) << other_ca_cert.out;
  // A client trusting another CA refuses the server (and is not served).
  auto distrusting = Etcdctl(endpoint, {"--cacert", certs("other-ca.pem"), "--cert", certs("client.pem"), "--key",
                                        certs("client.key")},
                             {"put", "foo", "bar"});
  EXPECT_NE(distrusting.exit_code, 0) << distrusting.out;
  auto curl = e2e::Run({"curl", "-sS", "-m", "10", "--cacert", certs("ca.pem"), endpoint + "/health"});
  EXPECT_NE(curl.exit_code, 0) << curl.out;
  EXPECT_NE(member.server->Log().find("rejected connection"), std::string::npos);
  // None of them got through, and the server is unharmed.
  auto get = Etcdctl(Url("http", member.plain_port), {}, {"get", "foo"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "");
}

TEST(Tls, PythonEtcd3OverHttps) {
  Certificates certs;
  TlsMember member(certs, EtcppBinary());
  ASSERT_TRUE(member.server->Healthy()) << member.server->Log();
  const char script[] = R"(import sys, etcd3
c = etcd3.client(host='127.0.0.1', port=int(sys.argv[1]), ca_cert=sys.argv[2], cert_key=sys.argv[3],
                 cert_cert=sys.argv[4], timeout=10)
c.put('greeting', 'hello')
print(c.get('greeting')[0].decode())
)";
  auto r = e2e::Run({"/usr/bin/python3", "-c", script, std::to_string(member.tls_port), certs("ca.pem"),
                certs("client.key"), certs("client.pem")});
  EXPECT_EQ(r.out, "hello\n") << r.err;
}

// etcd's errors for TLS settings it cannot use: nothing is served and the log says why.
TEST(Tls, BadSettingsStopTheStart) {
  Certificates certs;
  TempDir dir;
  auto start = [&](std::vector<std::string> flags) {
    int port = FreePort();
    std::vector<std::string> argv = {EtcppBinary(), "--data-dir", dir.path() + "/data", "--listen-client-urls",
                                     Url("https", port), "--advertise-client-urls", Url("https", port),
                                     "--listen-peer-urls", Url("http", FreePort())};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return e2e::Run(argv, "", {}, 30);
  };
  auto no_cert = start({});
  EXPECT_NE(no_cert.exit_code, 0);
  EXPECT_NE(no_cert.err.find("TLS key/cert (--cert-file, --key-file) must be provided for client url https://"),
            std::string::npos)
      << no_cert.err;
  auto missing = start({"--cert-file", certs("nothere.pem"), "--key-file", certs("server.key")});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("open " + certs("nothere.pem") + ": no such file or directory"), std::string::npos)
      << missing.err;
  auto mismatched = start({"--cert-file", certs("server.pem"), "--key-file", certs("client.key")});
  EXPECT_NE(mismatched.exit_code, 0);
  EXPECT_NE(mismatched.err.find("cannot load key " + certs("client.key")), std::string::npos) << mismatched.err;
  auto peer = e2e::Run({EtcppBinary(), "--data-dir", dir.path() + "/peer", "--listen-peer-urls", Url("https", FreePort()),
                   "--listen-client-urls", Url("http", FreePort()), "--advertise-client-urls",
                   Url("http", FreePort())});
  EXPECT_NE(peer.exit_code, 0);
  EXPECT_NE(peer.err.find("KeyFile and CertFile must both be present"), std::string::npos) << peer.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/member")) << "a refused start touched the data dir";
}

// --auto-tls: a self-signed certificate; clients skip verification, as with etcd
// (etcdctl 3.4 honours --insecure-skip-tls-verify only with --insecure-transport=false).
TEST(Tls, AutoTlsServesWithSelfSignedCertificate) {
  TempDir dir;
  int tls_port = FreePort(), plain_port = FreePort();
  Server server({EtcppBinary(), "--data-dir", dir.path() + "/data", "--listen-client-urls",
                 Url("https", tls_port) + "," + Url("http", plain_port), "--advertise-client-urls",
                 Url("https", tls_port), "--listen-peer-urls", Url("http", FreePort()), "--auto-tls"},
                dir.path() + "/log", plain_port);
  ASSERT_TRUE(server.Healthy()) << server.Log();
  auto put = Etcdctl(Url("https", tls_port), {"--insecure-skip-tls-verify", "--insecure-transport=false"},
                     {"put", "a", "b"});
  EXPECT_EQ(put.out, "OK\n") << put.err;
  auto curl = e2e::Run({"curl", "-sS", "-m", "10", "-k", Url("https", tls_port) + "/health"});
  EXPECT_NE(curl.out.find(R"("health":"true")"), std::string::npos) << curl.err;
}

// Three members over https peer URLs that require each other's certificates: they elect
// a leader and replicate; a member with a certificate of another CA cannot join.
TEST(Tls, ClusterOverHttpsPeersKeepsOtherCaOut) {
  Certificates certs;
  TempDir dir;
  struct Peer {
    std::string name;
    int peer_port = FreePort();
    int client_port = FreePort();
  };
  std::vector<Peer> peers = {{"m1"}, {"m2"}, {"m3"}};
  std::string initial_cluster;
  for (const auto& p : peers) initial_cluster += (initial_cluster.empty() ? "" : ",") + p.name + "=" + Url("https", p.peer_port);
  auto argv = [&](const Peer& p, const std::string& ca, const std::string& cert, const std::string& cluster,
                  const std::string& state) {
    return std::vector<std::string>{EtcppBinary(), "--name", p.name, "--data-dir", dir.path() + "/" + p.name,
                                    "--listen-client-urls", Url("http", p.client_port),
                                    "--advertise-client-urls", Url("http", p.client_port),
                                    "--listen-peer-urls", Url("https", p.peer_port),
                                    "--initial-advertise-peer-urls", Url("https", p.peer_port),
                                    "--initial-cluster", cluster, "--initial-cluster-state", state,
                                    "--peer-cert-file", certs(cert + ".pem"), "--peer-key-file", certs(cert + ".key"),
                                    "--peer-trusted-ca-file", certs(ca + ".pem"), "--peer-client-cert-auth"};
  };
  // Each start waits for /health, which needs a quorum: start them together.
  std::vector<std::unique_ptr<Server>> members(peers.size());
  std::vector<std::thread> starting;
  for (size_t i = 0; i < peers.size(); ++i) {
    starting.emplace_back([&, i] {
      members[i] = std::make_unique<Server>(argv(peers[i], "ca", "server", initial_cluster, "new"),
                                            dir.path() + "/" + peers[i].name + ".log", peers[i].client_port);
    });
  }
  for (auto& t : starting) t.join();
  for (auto& m : members) ASSERT_TRUE(m->Healthy()) << m->Log();
  auto put = Etcdctl(Url("http", peers[0].client_port), {}, {"put", "replicated", "yes"});
  ASSERT_EQ(put.out, "OK\n") << put.err;
  // Every member serves the write from its own store (a serializable read).
  for (const auto& p : peers) {
    std::string value;
    for (int i = 0; i < 200 && value != "yes\n"; ++i) {
      value = Etcdctl(Url("http", p.client_port), {}, {"get", "replicated", "--consistency", "s", "--print-value-only"}).out;
      if (value != "yes\n") std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(value, "yes\n") << p.name;
  }
  auto listed = Etcdctl(Url("http", peers[1].client_port), {}, {"member", "list"});
  EXPECT_NE(listed.out.find(Url("https", peers[2].peer_port)), std::string::npos) << listed.out;

  // The intruder's certificate is from another CA, and it trusts only that CA.
  Peer intruder{"m4"};
  auto joined = e2e::Run(argv(intruder, "other-ca", "other", initial_cluster + ",m4=" + Url("https", intruder.peer_port),
                         "existing"),
                    "", {}, 60);
  EXPECT_NE(joined.exit_code, 0) << joined.err;
  EXPECT_NE(joined.err.find("cannot fetch cluster info"), std::string::npos) << joined.err;
  std::string logs;
  for (auto& m : members) logs += m->Log();
  EXPECT_NE(logs.find("rejected connection"), std::string::npos);
  auto after = Etcdctl(Url("http", peers[2].client_port), {}, {"put", "still", "serving"});
  EXPECT_EQ(after.out, "OK\n") << after.err;
  auto list_after = Etcdctl(Url("http", peers[0].client_port), {}, {"member", "list"});
  EXPECT_EQ(list_after.out, listed.out);
}

// etcd's SAN check on the peer port: a client certificate that names addresses must
// name the one it connects from (127.0.0.1 here), directly or through a DNS name, unless
// --experimental-peer-skip-client-san-verification. curl with each certificate against
// the peer port's /members: the same answers from Debian's etcd and from etcpp.
TEST(Tls, PeerPortChecksClientCertificateSanAsEtcd) {
  Certificates certs;
  for (const std::string& binary : {std::string("etcd"), EtcppBinary()}) {
    for (bool skip : {false, true}) {
      SCOPED_TRACE(binary + (skip ? " with the check skipped" : ""));
      TempDir dir;
      int client_port = FreePort(), peer_port = FreePort();
      std::vector<std::string> argv = {binary, "--data-dir", dir.path() + "/data",
                                       "--listen-client-urls", Url("http", client_port),
                                       "--advertise-client-urls", Url("http", client_port),
                                       "--listen-peer-urls", Url("https", peer_port),
                                       "--initial-advertise-peer-urls", Url("https", peer_port),
                                       "--initial-cluster", "default=" + Url("https", peer_port),
                                       "--peer-cert-file", certs("server.pem"), "--peer-key-file", certs("server.key"),
                                       "--peer-trusted-ca-file", certs("ca.pem"), "--peer-client-cert-auth"};
      if (binary == "etcd") argv.insert(argv.end(), {"--logger", "zap", "--log-outputs", "stderr"});
      if (skip) argv.push_back("--experimental-peer-skip-client-san-verification");
      Server server(argv, dir.path() + "/log", client_port);
      ASSERT_TRUE(server.Healthy()) << server.Log();
      auto status = [&](const std::string& cert) {
        return e2e::Run({"curl", "-s", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certs("ca.pem"),
                         "--cert", certs(cert + ".pem"), "--key", certs(cert + ".key"),
                         Url("https", peer_port) + "/members"})
            .out;
      };
      EXPECT_EQ(status("server"), "200");
      EXPECT_EQ(status("named"), "200");  // localhost resolves to 127.0.0.1
      EXPECT_EQ(status("elsewhere"), skip ? "200" : "000");
      EXPECT_EQ(status("misnamed"), skip ? "200" : "000");
      if (!skip) {
        EXPECT_NE(server.Log().find("x509: certificate is valid for 127.0.0.9, not 127.0.0.1"), std::string::npos)
            << server.Log();
        EXPECT_NE(server.Log().find("does not match any of DNSNames"), std::string::npos) << server.Log();
      }
    }
  }
}

}  // namespace
}  // namespace etcpp::e2e
