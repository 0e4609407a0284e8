// The watchable store: etcd's watch semantics over a Store (etcd's watchable_store.go
// and watcher.go, behaviour only).
//
//   writer thread ──Notify(rev, events)──▶ synced watchers ──▶ WatchStream queues ──▶ API
//   syncer thread ──Store::History──────▶ unsynced watchers ──┘
//
// A watcher is *synced* when it has been sent everything up to the last revision the
// writer notified; the writer hands it each new revision directly. A watcher is
// *unsynced* when it starts in the past (start_revision <= the current revision) or when
// its stream's queue was full as a revision came: the writer never waits for a reader
// and never drops an event; it only records the first revision the watcher missed. The
// syncer thread reads those revisions back from the store (at most
// catch_up_revisions_max per round), delivers them, and moves the watcher back to the
// synced group once it has reached the last notified revision. A watcher whose next
// revision has been compacted away is canceled with compact_revision set, as etcd does.
//
// Guarantees (etcd's): per watcher, events in revision order, no gaps, no duplicates,
// every event of one revision in one response. A write's cost depends on the watchers
// it matches (WatcherIndex), not on how many there are.
//
// Memory: each stream queues at most stream_events_max events (plus control responses,
// one per client request); past that its watchers fall behind and cost only their
// bookkeeping until the consumer drains the queue.
//
// Threads and locks: one mutex `mu_` guards the groups, every watcher and every
// stream's watcher table; each stream's queue has its own mutex, taken after `mu_` (and
// alone by Take). on_ready callbacks run with `mu_` held: they must not call back into
// this store, only schedule a Take.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "mvccpb/kv.pb.h"
#include "storage/mvcc/store.h"
#include "storage/mvcc/watch_index.h"

namespace etcpp::mvcc {

// etcd's error texts (mvcc package) for a refused watch create.
inline constexpr const char* kErrWatcherDuplicateId = "mvcc: duplicate watch ID provided on the WatchStream";
inline constexpr const char* kErrEmptyWatcherRange = "mvcc: watcher range is empty";

// etcd's WatchCreateRequest, field for field.
struct WatchRequest {
  int64_t watch_id = 0;  // 0: the stream picks the lowest unused id (etcd's AutoWatchID)
  std::string key;       // empty: "\0", as etcd
  std::string range_end; // empty: just key; "\0": every key >= key
  int64_t start_revision = 0;  // 0: after the current revision
  bool prev_kv = false;
  bool progress_notify = false;
  bool filter_put = false;     // NOPUT
  bool filter_delete = false;  // NODELETE
};

// etcd's WatchResponse without the header fields the server adds; `revision` is the
// header revision.
struct WatchResponse {
  int64_t watch_id = 0;
  int64_t revision = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<mvccpb::Event> events;
};

struct WatchConfig {
  size_t stream_events_max = 1024;         // queued events per stream before watchers fall behind
  int64_t catch_up_revisions_max = 1000;   // revisions one history read covers (etcd's watchBatchMaxRevs)
  std::chrono::milliseconds sync_interval{100};       // syncer's idle wake-up
  std::chrono::milliseconds progress_interval{600000};  // --experimental-watch-progress-notify-interval
};

class WatchableStore;

// One client stream's watchers and its queue of responses. Made by
// WatchableStore::NewStream; any thread may call it; destroying it cancels its watchers.
class WatchStream {
 public:
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Creates a watcher and queues its `created` response, or a created-and-canceled
  // response with watch_id -1 and etcd's reason when the request is refused.
  void Watch(WatchRequest request);
  // Queues a canceled response; an unknown id is ignored, as etcd does.
  void Cancel(int64_t watch_id);
  // A progress response (watch_id -1) at the last notified revision, once every watcher
  // of the stream is synced (at once when they are).
  void RequestProgress();
  // The oldest queued response, if any.
  std::optional<WatchResponse> Take();

 private:
  friend class WatchableStore;
  WatchStream(WatchableStore* store, std::function<void()> on_ready)
      : store_(store), on_ready_(std::move(on_ready)) {}
  // Requires store_->mu_. Queues `response`; returns false (queuing nothing) when it
  // carries events and the queue is full unless `force`.
  bool Push(WatchResponse response, bool force);
  bool HasRoom(size_t fraction_divisor) const;

  WatchableStore* const store_;
  std::function<void()> on_ready_;
  // Guarded by store_->mu_.
  absl::flat_hash_map<int64_t, std::unique_ptr<Watcher>> watchers_;
  int64_t next_id_ = 0;
  size_t unsynced_ = 0;
  bool progress_pending_ = false;

  mutable std::mutex queue_mu_;
  std::deque<WatchResponse> queue_;  // guarded by queue_mu_
  std::atomic<size_t> queued_events_{0};
};

class WatchableStore {
 public:
  // Starts the syncer thread. `store` must outlive this object.
  WatchableStore(const Store* store, WatchConfig config);
  // Stops the syncer. Every stream must have been destroyed.
  ~WatchableStore();

  // The store's writer thread, after each write (Store::Options::on_write).
  void Notify(int64_t revision, std::vector<mvccpb::Event> events);
  // `on_ready` is called (with mu_ held, see above) when a response is queued into an
  // empty queue.
  std::unique_ptr<WatchStream> NewStream(std::function<void()> on_ready);

  size_t WatcherCount() const;
  size_t UnsyncedCountForTesting() const;

 private:
  friend class WatchStream;
  void SyncLoop();
  // One catch-up round; false when there was nothing it could do.
  bool SyncOnce();
  void CancelCompacted(int64_t compact_rev);
  void ProgressTick();
  // Requires mu_.
  void Deliver(Watcher* w, int64_t revision, const std::vector<const mvccpb::Event*>& events,
               bool force);
  void PushTo(WatchStream* stream, WatchResponse response);
  void MoveToUnsynced(Watcher* w, int64_t next_rev);
  void MoveToSynced(Watcher* w);
  void Remove(Watcher* w);
  void WakeSyncer();

  const Store* const store_;
  const WatchConfig config_;

  mutable std::mutex mu_;
  int64_t notified_rev_;                     // guarded by mu_
  WatcherIndex synced_;                      // guarded by mu_
  WatcherIndex unsynced_;                    // guarded by mu_
  absl::flat_hash_set<WatchStream*> streams_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  // Set without mu_ (Take may run inside an on_ready callback, under mu_); a missed
  // notification costs at most one sync_interval.
  std::atomic<bool> sync_wanted_{false};
  std::condition_variable sync_cv_;
  std::thread syncer_;
};

}  // namespace etcpp::mvcc
