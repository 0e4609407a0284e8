// The peer-link proxy on real loopback sockets: it forwards both ways, a cut closes and
// refuses, a blackhole swallows bytes silently and closes on heal, a slow link still
// delivers everything in order. No timing is asserted: waits are polls with deadlines.
#include "tests/chaos/proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/e2e/harness.h"

namespace etcpp::chaos {
namespace {

sockaddr_in Address(const std::string& ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  return addr;
}

int Listen(const std::string& ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Address(ip, port);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(fd, 8), 0);
  return fd;
}

int Connect(const std::string& ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Address(ip, port);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Reads until `bytes` came, the peer closed (returns what came), or 20 s passed.
std::string ReadUpTo(int fd, size_t bytes, int timeout_ms = 20000) {
  std::string out;
  char buffer[4096];
  while (out.size() < bytes) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// True once the peer closed `fd` (within 20 s).
bool Closed(int fd) {
  char byte;
  for (int i = 0; i < 200; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      ssize_t n = recv(fd, &byte, 1, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

struct Fixture {
  int port = e2e::FreePort();
  // The proxy listens on 127.0.1.2 and forwards to the "member" on 127.0.2.2.
  int member = Listen("127.0.2.2", port);
  Proxies proxies{1};
  Fixture() {
    EXPECT_TRUE(proxies.Add(0, 1, "127.0.1.2", "127.0.2.2", port));
    proxies.Start();
  }
  ~Fixture() { close(member); }
  // A connection through the proxy: (client side, member side).
  std::pair<int, int> Open() {
    int client = Connect("127.0.1.2", port);
    int server = accept(member, nullptr, nullptr);
    return {client, server};
  }
};

void Send(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

TEST(Proxy, ForwardsBothWays) {
  Fixture f;
  auto [client, server] = f.Open();
  Send(client, "hello");
  EXPECT_EQ(ReadUpTo(server, 5), "hello");
  Send(server, "world");
  EXPECT_EQ(ReadUpTo(client, 5), "world");
  close(client);
  EXPECT_TRUE(Closed(server));
  close(server);
}

TEST(Proxy, SlowLinkDeliversEverythingInOrder) {
  Fixture f;
  f.proxies.Set(0, 1, {.delay_ms = 30, .loss_percent = 30});
  auto [client, server] = f.Open();
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    std::string piece = std::to_string(i) + ",";
    Send(client, piece);
    sent += piece;
  }
  EXPECT_EQ(ReadUpTo(server, sent.size()), sent);
  close(client);
  close(server);
}

TEST(Proxy, CutClosesConnectionsAndRefusesNewOnes) {
  Fixture f;
  auto [client, server] = f.Open();
  f.proxies.Set(0, 1, {.mode = LinkMode::kCut});
  EXPECT_TRUE(Closed(client));
  EXPECT_TRUE(Closed(server));
  close(client);
  close(server);
  int again = Connect("127.0.1.2", f.port);
  EXPECT_TRUE(Closed(again));
  close(again);
  f.proxies.HealAll();
  auto [client2, server2] = f.Open();
  Send(client2, "back");
  EXPECT_EQ(ReadUpTo(server2, 4), "back");
  close(client2);
  close(server2);
}

TEST(Proxy, BlackholeSwallowsBytesThenClosesOnHeal) {
  Fixture f;
  auto [client, server] = f.Open();
  f.proxies.Set(0, 1, {.mode = LinkMode::kBlackhole});
  Send(client, "lost");
  Send(server, "lost too");
  EXPECT_EQ(ReadUpTo(server, 1, 500), "");
  EXPECT_EQ(ReadUpTo(client, 1, 500), "");
  f.proxies.HealAll();
  EXPECT_TRUE(Closed(client));
  EXPECT_TRUE(Closed(server));
  close(client);
  close(server);
}

}  // namespace
}  // namespace etcpp::chaos
