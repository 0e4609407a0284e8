// LeaseKeeper: keeps one lease alive until stopped, as etcd's Go client KeepAlive does.
//
// A background thread sends a keep-alive every third of the lease's TTL over a
// LeaseKeepAlive stream and reconnects (with failover) when the stream breaks. The handler
// sees every response on that thread. It ends when stopped or when the server answers
// TTL <= 0 (the lease expired or was revoked); Wait() then returns kNotFound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "client/client.h"

namespace etcpp::client {

class LeaseKeeper {
 public:
  using Handler = std::function<void(const etcdserverpb::LeaseKeepAliveResponse&)>;

  // The client must outlive the keeper. `handler` may be empty. `period`: how often to
  // renew; zero means a third of the TTL the server reports.
  static std::unique_ptr<LeaseKeeper> Start(Client& client, int64_t lease_id, Handler handler,
                                            std::chrono::milliseconds period = {});
  ~LeaseKeeper();  // stops

  void Stop();
  base::Status Wait();  // blocks until stopped or the lease is gone
  bool Finished();      // true once Wait() would not block

 private:
  LeaseKeeper(Client& client, int64_t lease_id, Handler handler, std::chrono::milliseconds period);
  void Run();
  // Returns true when the keeper is done (stopped or lease gone).
  bool RunStream();
  // Sleeps up to `seconds`, returning early (true) when stopped.
  bool SleepUnlessStopped(std::chrono::milliseconds duration);

  Client& client_;
  const int64_t lease_id_;
  const Handler handler_;
  const std::chrono::milliseconds period_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                   // GUARDED_BY(mu_)
  bool ended_ = false;                     // GUARDED_BY(mu_)
  base::Status result_;                    // GUARDED_BY(mu_)
  grpc::ClientContext* active_ = nullptr;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace etcpp::client
