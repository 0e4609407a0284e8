// Fault-injecting TCP proxies for a cluster's peer links: one per directed link i -> j,
// carrying the connections member i opens to member j (and whatever j answers on them).
// One thread serves them all with poll(). A link is in one of three modes:
//   open       bytes are forwarded, each chunk `delay_ms` late; with `loss_percent`, a
//              chunk is also held back a retransmission timeout (200 ms), as TCP does
//              with a lost segment (order is kept: later chunks wait for it);
//   blackhole  the link goes silent: connections stay up but every byte is dropped, new
//              ones are accepted and fed nothing; they are closed when the link heals
//              (their streams lost bytes), so the members reconnect;
//   cut        connections are closed, new ones are closed at once.
//
// Set, HealAll and the destructor may be called from any one thread while the poll
// thread runs; Set and HealAll return once the poll thread has applied the change
// (within ~20 ms), so a connection opened afterwards sees it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace etcpp::chaos {

enum class LinkMode { kOpen, kBlackhole, kCut };

struct LinkFault {
  LinkMode mode = LinkMode::kOpen;
  int64_t delay_ms = 0;
  int loss_percent = 0;
  bool operator==(const LinkFault&) const = default;
};

class Proxies {
 public:
  explicit Proxies(uint64_t seed);
  ~Proxies();
  // Before Start: the proxy of link from -> to, listening on listen_ip:port and forwarding
  // to target_ip:port. False if it cannot listen.
  bool Add(int from, int to, const std::string& listen_ip, const std::string& target_ip, int port);
  void Start();
  void Set(int from, int to, LinkFault fault);
  void HealAll();

 private:
  struct Link;
  struct Connection;
  // Posts the change made by `change` (under mu_) and waits until it is applied.
  template <typename Change>
  void Post(Change change);
  void Loop();
  void Apply(Link& link);
  void Accept(Link& link);
  Link* Find(int from, int to);

  const uint64_t seed_;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Connection>> connections_;  // poll thread only
  std::mutex mu_;                                         // guards each link's `wanted`
  std::condition_variable applied_cv_;
  uint64_t posted_ = 0;                                   // guarded by mu_: changes posted
  uint64_t applied_ = 0;                                  // guarded by mu_: changes applied
  bool stop_ = false;                                     // guarded by mu_
  std::thread thread_;
};

}  // namespace etcpp::chaos
