// EtcdForTesting: a real single-member etcd (Debian's /usr/bin/etcd, or $ETCPP_TEST_SERVER)
// on free loopback ports with a temporary data directory, for the client tests. Stop and
// Start keep the ports and data, so a test can restart the member under a client. The
// destructor kills the process and removes the directory, also when a test fails.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace etcpp::client {

class EtcdForTesting {
 public:
  explicit EtcdForTesting(std::vector<std::string> extra_flags = {});
  ~EtcdForTesting();

  // Starts the member and waits until it serves requests; false on timeout.
  bool Start();
  void Stop();

  const std::string& endpoint() const { return endpoint_; }

  // A loopback port nothing listens on (bound once, then released).
  static int UnusedPort();

 private:
  std::vector<std::string> extra_flags_;
  std::string dir_;
  std::string endpoint_;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace etcpp::client
