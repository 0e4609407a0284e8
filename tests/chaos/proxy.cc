#include "tests/chaos/proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <deque>
#include <random>


namespace etcpp::chaos {

namespace {

constexpr int64_t kRetransmitNs = 200'000'000;
// Beyond this many bytes held per direction the proxy stops reading, so a slow link
// pushes back on the sender as TCP would, instead of growing without bound.
constexpr size_t kPendingBytesMax = 4 << 20;
constexpr int kPollMsMax = 20;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sockaddr_in Address(const std::string& ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  return addr;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct Chunk {
  int64_t due_ns = 0;
  std::string bytes;
  size_t written = 0;
};

// The bytes read from one side and not yet written to the other.
struct Direction {
  std::deque<Chunk> pending;
  size_t bytes = 0;
  int64_t last_due_ns = 0;
  bool eof = false;  // the reading side closed; once flushed, the writing side is shut too
  bool shut = false;
};

}  // namespace

struct Proxies::Link {
  int from = 0, to = 0;
  int listen_fd = -1;
  sockaddr_in target{};
  LinkFault wanted;   // guarded by mu_
  LinkFault applied;  // poll thread only
};

// fd[0] is the side member `from` opened, fd[1] the one to member `to` (-1 when the
// connection was accepted into a blackhole). dir[s] holds what was read from fd[s].
struct Proxies::Connection {
  Link* link = nullptr;
  int fd[2] = {-1, -1};
  Direction dir[2];
  bool discarding = false;
  bool dead = false;
  ~Connection() {
    for (int fd_side : fd)
      if (fd_side >= 0) close(fd_side);
  }
};

Proxies::Proxies(uint64_t seed) : seed_(seed) {}

Proxies::~Proxies() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  connections_.clear();
  for (auto& link : links_) close(link->listen_fd);
}

bool Proxies::Add(int from, int to, const std::string& listen_ip, const std::string& target_ip, int port) {
  auto link = std::make_unique<Link>();
  link->from = from;
  link->to = to;
  link->target = Address(target_ip, port);
  link->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(link->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Address(listen_ip, port);
  bool ok = bind(link->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            listen(link->listen_fd, 64) == 0;
  links_.push_back(std::move(link));
  return ok;
}

void Proxies::Start() {
  thread_ = std::thread([this] { Loop(); });
}

Proxies::Link* Proxies::Find(int from, int to) {
  for (auto& link : links_)
    if (link->from == from && link->to == to) return link.get();
  return nullptr;
}

template <typename Change>
void Proxies::Post(Change change) {
  std::unique_lock lock(mu_);
  change();
  uint64_t mine = ++posted_;
  applied_cv_.wait(lock, [&] { return applied_ >= mine || stop_ || !thread_.joinable(); });
}

void Proxies::Set(int from, int to, LinkFault fault) {
  Post([&] {
    if (Link* link = Find(from, to)) link->wanted = fault;
  });
}

void Proxies::HealAll() {
  Post([&] {
    for (auto& link : links_) link->wanted = LinkFault{};
  });
}

void Proxies::Apply(Link& link) {
  LinkFault old = link.applied;
  {
    std::lock_guard lock(mu_);
    link.applied = link.wanted;
  }
  if (old.mode == link.applied.mode) return;
  for (auto& c : connections_) {
    if (c->link != &link) continue;
    if (link.applied.mode == LinkMode::kCut || old.mode == LinkMode::kBlackhole) {
      c->dead = true;
    } else if (link.applied.mode == LinkMode::kBlackhole) {
      c->discarding = true;
      for (auto& d : c->dir) d.pending.clear(), d.bytes = 0;
    }
  }
}

void Proxies::Accept(Link& link) {
  int fd = accept4(link.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  auto c = std::make_unique<Connection>();
  c->link = &link;
  c->fd[0] = fd;
  if (link.applied.mode == LinkMode::kCut) return;  // closed by c's destructor
  if (link.applied.mode == LinkMode::kBlackhole) {
    c->discarding = true;
  } else {
    // A blocking connect: on loopback it completes or is refused at once (a stopped
    // member's kernel still accepts into the backlog).
    int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(target, reinterpret_cast<sockaddr*>(&link.target), sizeof(link.target)) != 0) {
      close(target);
      return;
    }
    c->fd[1] = target;
    NoDelay(target);
    fcntl(target, F_SETFL, fcntl(target, F_GETFL) | O_NONBLOCK);
  }
  NoDelay(fd);
  connections_.push_back(std::move(c));
}

void Proxies::Loop() {
  std::mt19937_64 random(seed_);
  std::string buffer(64 * 1024, '\0');
  while (true) {
    uint64_t posted;
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      posted = posted_;
    }
    for (auto& link : links_) {
      bool changed;
      {
        std::lock_guard lock(mu_);
        changed = !(link->wanted == link->applied);
      }
      if (changed) Apply(*link);
    }
    {
      std::lock_guard lock(mu_);
      applied_ = posted;
    }
    applied_cv_.notify_all();
    std::erase_if(connections_, [](const auto& c) { return c->dead; });

    std::vector<pollfd> fds;
    std::vector<std::pair<Connection*, int>> owners;  // (nullptr, link index) for listeners
    for (size_t i = 0; i < links_.size(); ++i) {
      fds.push_back({links_[i]->listen_fd, POLLIN, 0});
      owners.emplace_back(nullptr, static_cast<int>(i));
    }
    int64_t now = NowNs();
    int timeout_ms = kPollMsMax;
    for (auto& c : connections_) {
      for (int s = 0; s < 2; ++s) {
        if (c->fd[s] < 0) continue;
        short events = 0;
        if (!c->dir[s].eof && c->dir[s].bytes < kPendingBytesMax) events |= POLLIN;
        const auto& outgoing = c->dir[1 - s].pending;
        if (!outgoing.empty()) {
          int64_t wait_ns = outgoing.front().due_ns - now;
          if (wait_ns <= 0) events |= POLLOUT;
          else timeout_ms = std::min<int64_t>(timeout_ms, wait_ns / 1'000'000 + 1);
        }
        fds.push_back({c->fd[s], events, 0});
        owners.emplace_back(c.get(), s);
      }
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) continue;
    now = NowNs();
    for (size_t i = 0; i < fds.size(); ++i) {
      auto [c, s] = owners[i];
      short revents = fds[i].revents;
      if (c == nullptr) {
        if (revents & POLLIN) Accept(*links_[s]);
        continue;
      }
      if (c->dead) continue;
      Direction& in = c->dir[s];
      if ((fds[i].events & POLLIN) && (revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(c->fd[s], buffer.data(), buffer.size());
        if (n > 0 && !c->discarding) {
          const LinkFault& fault = c->link->applied;
          int64_t due = now + fault.delay_ms * 1'000'000;
          if (fault.loss_percent > 0 && static_cast<int>(random() % 100) < fault.loss_percent)
            due += kRetransmitNs;
          due = std::max(due, in.last_due_ns);
          in.last_due_ns = due;
          in.pending.push_back({due, buffer.substr(0, static_cast<size_t>(n)), 0});
          in.bytes += static_cast<size_t>(n);
        } else if (n == 0) {
          in.eof = true;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          c->dead = true;
        }
      } else if (revents & (POLLHUP | POLLERR)) {
        c->dead = true;  // closed both ways and nothing more to read
      }
      Direction& out = c->dir[1 - s];
      while ((revents & POLLOUT) && !c->dead && !out.pending.empty() && out.pending.front().due_ns <= now) {
        Chunk& chunk = out.pending.front();
        ssize_t n = send(c->fd[s], chunk.bytes.data() + chunk.written, chunk.bytes.size() - chunk.written,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
          c->dead = errno != EAGAIN && errno != EINTR;
          break;
        }
        chunk.written += static_cast<size_t>(n);
        if (chunk.written < chunk.bytes.size()) break;
        out.bytes -= chunk.bytes.size();
        out.pending.pop_front();
      }
    }
    for (auto& c : connections_) {
      for (int s = 0; s < 2; ++s) {
        Direction& d = c->dir[s];
        if (!d.eof || d.shut || !d.pending.empty()) continue;
        d.shut = true;
        if (c->fd[1 - s] >= 0) shutdown(c->fd[1 - s], SHUT_WR);
      }
      if (c->dir[0].shut && (c->dir[1].shut || c->fd[1] < 0)) c->dead = true;
    }
  }
}

}  // namespace etcpp::chaos
