// WatchService — see watch_service.h.
//
// Threads: gRPC runs the reactions (OnReadDone, OnWriteDone, OnCancel, OnDone). When a
// stream's queue stops being empty the watchable store calls on_ready on its writer or
// syncer thread; that only posts a Pump to the service's pool, so converting and
// writing responses for many streams never holds up the apply loop. `mu_` (recursive:
// gRPC may run OnWriteDone inside StartWrite) serialises the writing side; requests are
// handed to the WatchStream without holding it. The reactor is deleted by whichever of
// OnDone and the last posted Pump ends last (`refs_`).
#include "api/watch_service.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <deque>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "server/convert.h"

namespace etcpp::api {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

std::vector<WatchResponse> SplitWatchResponse(WatchResponse response, size_t limit) {
  std::vector<WatchResponse> parts;
  if (response.ByteSizeLong() < limit || response.events_size() < 2) {
    parts.push_back(std::move(response));
    return parts;
  }
  WatchResponse shell = response;
  shell.clear_events();
  shell.set_fragment(true);
  int next = 0;
  while (next < response.events_size()) {
    WatchResponse part = shell;
    for (; next < response.events_size(); ++next) {
      *part.add_events() = response.events(next);
      if (part.events_size() > 1 && part.ByteSizeLong() >= limit) {
        part.mutable_events()->RemoveLast();
        break;
      }
    }
    if (next == response.events_size()) part.set_fragment(false);
    parts.push_back(std::move(part));
  }
  return parts;
}

namespace {

class WatchReactor final : public grpc::ServerBidiReactor<WatchRequest, WatchResponse> {
 public:
  WatchReactor(server::EtcdServer* server, size_t fragment_bytes, boost::asio::thread_pool* pool)
      : server_(server), fragment_bytes_(fragment_bytes), pool_(pool) {
    stream_ = server_->NewWatchStream([this] { SchedulePump(); });
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // A client that closes its sending side keeps receiving, as with etcd; only a
    // cancel (OnCancel) ends the stream.
    if (!ok) return;
    Handle(request_);
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      if (!ok) finish_requested_ = true;
      finish = finish_requested_;
    }
    if (finish) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"));
    Pump();
  }

  void OnCancel() override {
    {
      std::lock_guard lock(mu_);
      if (finish_requested_) return;
      finish_requested_ = true;
      if (writing_) return;  // OnWriteDone finishes
    }
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"));
  }

  void OnDone() override {
    // After this no on_ready can come; a Pump already posted returns at once (finish
    // requested) and the last one out deletes.
    stream_.reset();
    Release();
  }

 private:
  void Handle(const WatchRequest& request) {
    switch (request.request_union_case()) {
      case WatchRequest::kCreateRequest: {
        mvcc::WatchRequest watch = server::FromWire(request.create_request());
        {
          // Created responses come out in request order: the flag meets its id there.
          std::lock_guard lock(mu_);
          fragment_wanted_.push_back(request.create_request().fragment());
        }
        stream_->Watch(std::move(watch));
        break;
      }
      case WatchRequest::kCancelRequest:
        stream_->Cancel(request.cancel_request().watch_id());
        break;
      case WatchRequest::kProgressRequest:
        stream_->RequestProgress();
        break;
      case WatchRequest::REQUEST_UNION_NOT_SET:
        break;  // etcd ignores what it does not know
    }
  }

  void SchedulePump() {
    if (pump_posted_.exchange(true)) return;
    ++refs_;
    boost::asio::post(*pool_, [this] {
      pump_posted_ = false;
      Pump();
      Release();
    });
  }

  void Release() {
    if (--refs_ == 0) delete this;
  }

  // Writes the next response if none is in flight.
  void Pump() {
    std::lock_guard lock(mu_);
    if (writing_ || finish_requested_) return;
    if (outbox_.empty()) {
      auto next = stream_->Take();
      if (!next) return;
      Track(*next);
      const bool split = fragmenting_.contains(next->watch_id);
      WatchResponse wire = server_->WatchResponseToWire(std::move(*next));
      if (split) {
        for (auto& part : SplitWatchResponse(std::move(wire), fragment_bytes_))
          outbox_.push_back(std::move(part));
      } else {
        outbox_.push_back(std::move(wire));
      }
    }
    current_ = std::move(outbox_.front());
    outbox_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // Requires mu_. Follows which watch ids asked for fragments.
  void Track(const mvcc::WatchResponse& response) {
    if (response.created) {
      if (!fragment_wanted_.empty()) {
        if (fragment_wanted_.front() && !response.canceled) fragmenting_.insert(response.watch_id);
        fragment_wanted_.pop_front();
      }
    } else if (response.canceled) {
      fragmenting_.erase(response.watch_id);
    }
  }

  server::EtcdServer* const server_;
  const size_t fragment_bytes_;
  boost::asio::thread_pool* const pool_;
  std::unique_ptr<mvcc::WatchStream> stream_;
  std::atomic<int> refs_{1};  // gRPC's (until OnDone) plus one per posted Pump
  std::atomic<bool> pump_posted_{false};
  WatchRequest request_;  // reading side only

  std::recursive_mutex mu_;
  bool writing_ = false;                      // guarded by mu_
  bool finish_requested_ = false;             // guarded by mu_
  WatchResponse current_;                     // guarded by mu_: the write in flight
  std::deque<WatchResponse> outbox_;          // guarded by mu_: fragments still to write
  std::deque<bool> fragment_wanted_;          // guarded by mu_: of creates not yet answered
  absl::flat_hash_set<int64_t> fragmenting_;  // guarded by mu_
};

}  // namespace

grpc::ServerBidiReactor<WatchRequest, WatchResponse>* WatchService::Watch(
    grpc::CallbackServerContext*) {
  return new WatchReactor(server_, fragment_bytes_, &pool_);
}

}  // namespace etcpp::api
