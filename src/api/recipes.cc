#include "api/recipes.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdio>

#include "api/errors.h"
#include "storage/mvcc/types.h"

namespace etcpp::api::recipes {

void Cancellation::Cancel() {
  std::function<void()> abort;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    abort.swap(abort_);
  }
  if (abort) abort();
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void Cancellation::SetAbort(std::function<void()> abort) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      abort_ = std::move(abort);
      return;
    }
  }
  abort();
}

void Cancellation::ClearAbort() {
  std::lock_guard lock(mu_);
  abort_ = nullptr;
}

base::Status CancelledStatus() { return base::Status(base::Code::kUnavailable, "context canceled"); }

grpc::Status ErrorStatus(const base::Status& status) {
  return grpc::Status(grpc::StatusCode::UNKNOWN, ToGrpcStatus(status).error_message());
}

std::string ContenderKey(const std::string& prefix, int64_t lease) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lease));
  return prefix + hex;
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // all 0xff: every key from prefix on
}

etcdserverpb::RangeRequest FirstCreated(const std::string& prefix) {
  etcdserverpb::RangeRequest range;
  range.set_key(prefix);
  range.set_range_end(PrefixEnd(prefix));
  range.set_sort_target(etcdserverpb::RangeRequest::CREATE);
  range.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  range.set_limit(1);
  return range;
}

namespace {

// Where a finished watch hands over: a watch's stream answers under the watchable
// store's lock, where neither its destruction nor a new watch may happen.
boost::asio::thread_pool& Executor() {
  static boost::asio::thread_pool pool(1);
  return pool;
}

// One watch of a recipe. Holds itself alive until it finishes; the stream's callback
// (store lock held) only takes responses and hands events on.
class RecipeWatch {
 public:
  static void Start(server::EtcdServer* server, const std::string& key, const std::string& range_end,
                    int64_t start_revision, Cancelled cancelled, OnEvents on_events,
                    server::Done<bool> ended) {
    auto watch = std::shared_ptr<RecipeWatch>(new RecipeWatch(server, std::move(on_events), std::move(ended)));
    watch->self_ = watch;
    watch->cancelled_ = cancelled;
    RecipeWatch* raw = watch.get();
    // No lock needed yet: the stream answers nothing before its first Watch.
    raw->stream_ = server->NewWatchStream([raw] { raw->Drain(); });
    mvcc::WatchRequest request;
    request.key = key;
    request.range_end = range_end;
    request.start_revision = start_revision;
    raw->stream_->Watch(std::move(request));
    std::weak_ptr<RecipeWatch> weak = watch;
    cancelled->SetAbort([weak] {
      if (auto live = weak.lock()) live->End(CancelledStatus());
    });
    // Only now may the stream go: until here this thread was still using it.
    std::lock_guard lock(raw->mu_);
    raw->started_ = true;
    if (raw->finished_) raw->Post();
  }

 private:
  RecipeWatch(server::EtcdServer* server, OnEvents on_events, server::Done<bool> ended)
      : server_(server), on_events_(std::move(on_events)), ended_(std::move(ended)) {}

  void Drain() {
    std::lock_guard lock(mu_);
    while (!finished_ && stream_) {
      auto next = stream_->Take();
      if (!next) return;
      if (next->canceled) {
        EndLocked(next->compact_revision > 0 ? mvcc::ErrCompacted()
                                             : base::Status(base::Code::kUnavailable, next->cancel_reason));
        return;
      }
      if (next->events.empty()) continue;  // created, progress
      etcdserverpb::WatchResponse wire = server_->WatchResponseToWire(std::move(*next));
      std::vector<mvccpb::Event> events(wire.events().begin(), wire.events().end());
      if (!on_events_(wire.header(), events)) EndLocked(true);
    }
  }

  void End(base::Result<bool> result) {
    std::lock_guard lock(mu_);
    EndLocked(std::move(result));
  }

  // Requires mu_.
  void EndLocked(base::Result<bool> result) {
    if (finished_) return;
    finished_ = true;
    result_ = std::move(result);
    if (started_) Post();
  }

  // Requires mu_. The stream goes, and `ended` runs, on the executor.
  void Post() {
    boost::asio::post(Executor(), [self = std::move(self_), result = std::move(result_)]() mutable {
      self->cancelled_->ClearAbort();
      std::unique_ptr<mvcc::WatchStream> stream;
      {
        std::lock_guard lock(self->mu_);
        stream = std::move(self->stream_);
      }
      stream.reset();
      self->ended_(std::move(result));
    });
  }

  server::EtcdServer* const server_;
  const OnEvents on_events_;
  const server::Done<bool> ended_;
  Cancelled cancelled_;
  std::recursive_mutex mu_;  // Drain may run inside Watch or Take's callers, on this thread
  std::unique_ptr<mvcc::WatchStream> stream_;  // guarded by mu_
  bool started_ = false;                       // guarded by mu_: Start is done with the stream
  bool finished_ = false;                      // guarded by mu_
  base::Result<bool> result_ = false;          // guarded by mu_: once finished
  std::shared_ptr<RecipeWatch> self_;          // guarded by mu_; until posted
};

}  // namespace

void Watch(server::EtcdServer* server, const std::string& key, const std::string& range_end,
           int64_t start_revision, Cancelled cancelled, OnEvents on_events, server::Done<bool> ended) {
  RecipeWatch::Start(server, key, range_end, start_revision, std::move(cancelled), std::move(on_events),
                     std::move(ended));
}

void WaitDelete(server::EtcdServer* server, const std::string& key, int64_t revision, Cancelled cancelled,
                server::Done<bool> done) {
  Watch(
      server, key, "", revision, std::move(cancelled),
      [](const etcdserverpb::ResponseHeader&, const std::vector<mvccpb::Event>& events) {
        for (const auto& event : events) {
          if (event.type() == mvccpb::Event::DELETE) return false;
        }
        return true;
      },
      std::move(done));
}

void WaitDeletes(server::EtcdServer* server, const std::string& prefix, int64_t max_create_revision,
                 Cancelled cancelled, server::Done<etcdserverpb::ResponseHeader> done) {
  if (cancelled->cancelled()) return done(CancelledStatus());
  // The newest key created before ours: our predecessor in the queue.
  etcdserverpb::RangeRequest predecessor;
  predecessor.set_key(prefix);
  predecessor.set_range_end(PrefixEnd(prefix));
  predecessor.set_sort_target(etcdserverpb::RangeRequest::CREATE);
  predecessor.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  predecessor.set_max_create_revision(max_create_revision);
  predecessor.set_limit(1);
  server->Range(predecessor, [server, prefix, max_create_revision, cancelled,
                              done = std::move(done)](base::Result<etcdserverpb::RangeResponse> got) {
    if (!got.ok()) return done(got.status());
    if (got->kvs_size() == 0) return done(got->header());
    WaitDelete(server, got->kvs(0).key(), got->header().revision(), cancelled,
               [server, prefix, max_create_revision, cancelled, done](base::Result<bool> deleted) {
                 if (!deleted.ok()) return done(deleted.status());
                 WaitDeletes(server, prefix, max_create_revision, cancelled, done);
               });
  });
}

}  // namespace etcpp::api::recipes
