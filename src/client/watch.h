// Watcher: one watch on a key or range that survives reconnects.
//
// A background thread owns the stream. When the stream breaks (the member stopped, the
// connection dropped), the thread reconnects through the Client's failover and creates
// the watch again from the revision after the last one it delivered, so the handler sees
// every event once and in order — etcd's watch guarantees, kept across reconnects.
//
// The handler runs on the watcher's thread, for every response that carries events (or
// is a progress notification), never for the "created" acknowledgement. The watch ends
// when Stop() is called or the server cancels it (e.g. the start revision was compacted);
// Wait() then returns why.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "client/client.h"

namespace etcpp::client {

class Watcher {
 public:
  using Handler = std::function<void(const etcdserverpb::WatchResponse&)>;

  // `request.start_revision` 0 means "from now". The client must outlive the watcher.
  static std::unique_ptr<Watcher> Start(Client& client, etcdserverpb::WatchCreateRequest request,
                                        Handler handler);
  ~Watcher();  // stops

  void Stop();
  // Blocks until the watch has ended; OK after Stop().
  base::Status Wait();

  // The revision the watch would resume from after a reconnect (0 before the first
  // "created" acknowledgement).
  int64_t next_revision() const;

 private:
  Watcher(Client& client, etcdserverpb::WatchCreateRequest request, Handler handler);
  void Run();
  // One stream's lifetime: returns OK when it merely broke (reconnect), an error when
  // the watch is over.
  base::Status RunStream(bool& finished);

  Client& client_;
  etcdserverpb::WatchCreateRequest request_;
  const Handler handler_;

  mutable std::mutex mu_;
  std::condition_variable ended_cv_;
  bool stopped_ = false;                   // GUARDED_BY(mu_)
  bool ended_ = false;                     // GUARDED_BY(mu_)
  base::Status result_;                    // GUARDED_BY(mu_)
  int64_t next_revision_ = 0;              // GUARDED_BY(mu_)
  grpc::ClientContext* active_ = nullptr;  // GUARDED_BY(mu_): to cancel the stream
  bool token_renewed_ = false;             // watcher thread only: renewed since the last create
  std::thread thread_;
};

}  // namespace etcpp::client
