// WatchableStore and WatchStream — see watch.h.
#include "storage/mvcc/watch.h"

#include <algorithm>
#include <limits>

#include "base/assert.h"
#include "base/log.h"

namespace etcpp::mvcc {

namespace {

bool IsCreate(const mvccpb::Event& event) {
  return event.type() == mvccpb::Event::PUT &&
         event.kv().create_revision() == event.kv().mod_revision();
}

}  // namespace

// --- WatchStream ---

WatchStream::~WatchStream() {
  std::lock_guard lock(store_->mu_);
  for (auto& [id, w] : watchers_) (w->synced ? store_->synced_ : store_->unsynced_).Remove(w.get());
  watchers_.clear();
  store_->streams_.erase(this);
}

bool WatchStream::HasRoom(size_t fraction_divisor) const {
  return queued_events_.load() <= store_->config_.stream_events_max / fraction_divisor;
}

bool WatchStream::Push(WatchResponse response, bool force) {
  const size_t events = response.events.size();
  bool was_empty = false;
  {
    std::lock_guard lock(queue_mu_);
    const size_t queued = queued_events_.load();
    // An empty queue takes any one revision, however large, so no watcher is stuck.
    if (!force && events > 0 && queued > 0 && queued + events > store_->config_.stream_events_max) {
      return false;
    }
    was_empty = queue_.empty();
    queue_.push_back(std::move(response));
    queued_events_ += events;
  }
  if (was_empty && on_ready_) on_ready_();
  return true;
}

std::optional<WatchResponse> WatchStream::Take() {
  std::optional<WatchResponse> response;
  {
    std::lock_guard lock(queue_mu_);
    if (queue_.empty()) return std::nullopt;
    response = std::move(queue_.front());
    queue_.pop_front();
    queued_events_ -= response->events.size();
  }
  // Half-empty again: watchers left behind by this stream can catch up.
  if (!response->events.empty() && HasRoom(2)) store_->WakeSyncer();
  return response;
}

void WatchStream::Watch(WatchRequest request) {
  std::lock_guard lock(store_->mu_);
  WatchResponse response;
  response.revision = store_->notified_rev_;
  response.created = true;
  if (request.key.empty()) request.key = std::string(1, '\0');
  const bool open_ended = request.range_end == std::string(1, '\0');
  if (!request.range_end.empty() && !open_ended && request.key >= request.range_end) {
    response.watch_id = -1;
    response.canceled = true;
    response.cancel_reason = kErrEmptyWatcherRange;
    return (void)Push(std::move(response), true);
  }
  int64_t id = request.watch_id;
  if (id == 0) {
    while (watchers_.contains(next_id_)) ++next_id_;
    id = next_id_++;
  } else if (watchers_.contains(id)) {
    response.watch_id = -1;
    response.canceled = true;
    response.cancel_reason = kErrWatcherDuplicateId;
    return (void)Push(std::move(response), true);
  }
  auto w = std::make_unique<Watcher>();
  w->id = id;
  w->stream = this;
  w->kind = ClassifyWatchRange(request.key, request.range_end);
  w->key = std::move(request.key);
  if (!open_ended) w->end = std::move(request.range_end);
  w->prev_kv = request.prev_kv;
  w->filter_put = request.filter_put;
  w->filter_delete = request.filter_delete;
  w->progress_notify = request.progress_notify;
  w->next_rev = request.start_revision == 0 ? store_->notified_rev_ + 1 : request.start_revision;
  response.watch_id = id;
  // The created response is queued before the watcher can receive anything.
  (void)Push(std::move(response), true);
  Watcher* raw = w.get();
  watchers_.emplace(id, std::move(w));
  if (raw->next_rev > store_->notified_rev_) {
    raw->synced = true;
    store_->synced_.Add(raw);
  } else {
    ++unsynced_;
    store_->unsynced_.Add(raw);
    store_->WakeSyncer();
  }
}

void WatchStream::Cancel(int64_t watch_id) {
  std::lock_guard lock(store_->mu_);
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) return;
  store_->Remove(it->second.get());
  WatchResponse response;
  response.watch_id = watch_id;
  response.revision = store_->notified_rev_;
  response.canceled = true;
  (void)Push(std::move(response), true);
}

void WatchStream::RequestProgress() {
  std::lock_guard lock(store_->mu_);
  if (unsynced_ > 0) {
    progress_pending_ = true;
    return;
  }
  WatchResponse response;
  response.watch_id = -1;
  response.revision = store_->notified_rev_;
  (void)Push(std::move(response), true);
}

// --- WatchableStore ---

WatchableStore::WatchableStore(const Store* store, WatchConfig config)
    : store_(store), config_(config), notified_rev_(store->Rev()) {
  syncer_ = std::thread([this] { SyncLoop(); });
}

WatchableStore::~WatchableStore() {
  {
    std::lock_guard lock(mu_);
    ETCPP_ASSERT_MSG(streams_.empty(), "watchable store destroyed before its streams");
    stopping_ = true;
  }
  sync_cv_.notify_one();
  syncer_.join();
}

std::unique_ptr<WatchStream> WatchableStore::NewStream(std::function<void()> on_ready) {
  std::unique_ptr<WatchStream> stream(new WatchStream(this, std::move(on_ready)));
  std::lock_guard lock(mu_);
  streams_.insert(stream.get());
  return stream;
}

size_t WatchableStore::WatcherCount() const {
  std::lock_guard lock(mu_);
  return synced_.size() + unsynced_.size();
}

size_t WatchableStore::UnsyncedCountForTesting() const {
  std::lock_guard lock(mu_);
  return unsynced_.size();
}

void WatchableStore::WakeSyncer() {
  sync_wanted_ = true;
  sync_cv_.notify_one();
}

void WatchableStore::Notify(int64_t revision, std::vector<mvccpb::Event> events) {
  std::lock_guard lock(mu_);
  ETCPP_ASSERT_MSG(revision > notified_rev_, "watch notified out of revision order");
  notified_rev_ = revision;
  if (events.size() == 1) {
    // The common revision of one event: its watchers need no grouping, so no map entry
    // and event list each (at 100,000 watchers of a key these were most of Notify).
    // Collected first: a Deliver may move its watcher out of the index.
    std::vector<Watcher*> watchers;
    synced_.ForEachMatch(events[0].kv().key(), [&](Watcher* w) {
      if (w->next_rev <= revision) watchers.push_back(w);
    });
    const std::vector<const mvccpb::Event*> list = {&events[0]};
    for (Watcher* w : watchers) Deliver(w, revision, list, false);
    return;
  }
  absl::flat_hash_map<Watcher*, std::vector<const mvccpb::Event*>> matched;
  for (const mvccpb::Event& event : events) {
    synced_.ForEachMatch(event.kv().key(), [&](Watcher* w) {
      if (w->next_rev <= revision) matched[w].push_back(&event);
    });
  }
  for (auto& [w, list] : matched) Deliver(w, revision, list, false);
}

void WatchableStore::Deliver(Watcher* w, int64_t revision,
                             const std::vector<const mvccpb::Event*>& events, bool force) {
  WatchResponse response;
  response.watch_id = w->id;
  response.revision = revision;
  for (const mvccpb::Event* event : events) {
    if (event->type() == mvccpb::Event::PUT ? w->filter_put : w->filter_delete) continue;
    mvccpb::Event& out = response.events.emplace_back(*event);
    if (!w->prev_kv) {
      out.clear_prev_kv();
    } else if (!out.has_prev_kv() && !IsCreate(out)) {
      // History records carry no previous version: read it at mod_revision - 1, as
      // etcd's watch server does (absent when compacted away).
      RangeRequest get;
      get.key = out.kv().key();
      get.revision = out.kv().mod_revision() - 1;
      auto got = store_->Range(get);
      if (got.ok() && !got->kvs.empty()) *out.mutable_prev_kv() = std::move(got->kvs[0]);
    }
  }
  // Everything filtered out: etcd sends nothing.
  if (response.events.empty()) return;
  if (!w->stream->Push(std::move(response), force)) {
    MoveToUnsynced(w, events.front()->kv().mod_revision());
    return;
  }
  w->sent_since_progress = true;
}

void WatchableStore::Resync() {
  {
    std::lock_guard lock(mu_);
    for (Watcher* w : synced_.All()) {
      // A synced watcher waiting for a future start revision keeps it.
      MoveToUnsynced(w, std::max(w->next_rev, notified_rev_ + 1));
    }
    notified_rev_ = std::max(notified_rev_, store_->Rev());
  }
  WakeSyncer();
}

void WatchableStore::MoveToUnsynced(Watcher* w, int64_t next_rev) {
  ETCPP_ASSERT(w->synced);
  synced_.Remove(w);
  w->synced = false;
  w->next_rev = next_rev;
  unsynced_.Add(w);
  ++w->stream->unsynced_;
}

void WatchableStore::MoveToSynced(Watcher* w) {
  ETCPP_ASSERT(!w->synced);
  unsynced_.Remove(w);
  w->synced = true;
  synced_.Add(w);
  WatchStream* stream = w->stream;
  if (--stream->unsynced_ == 0 && stream->progress_pending_) {
    stream->progress_pending_ = false;
    WatchResponse response;
    response.watch_id = -1;
    response.revision = notified_rev_;
    (void)stream->Push(std::move(response), true);
  }
}

void WatchableStore::Remove(Watcher* w) {
  WatchStream* stream = w->stream;
  if (w->synced) {
    synced_.Remove(w);
  } else {
    unsynced_.Remove(w);
    --stream->unsynced_;
  }
  stream->watchers_.erase(w->id);  // frees w
}

void WatchableStore::SyncLoop() {
  auto next_progress = std::chrono::steady_clock::now() + config_.progress_interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    sync_cv_.wait_for(lock, config_.sync_interval,
                      [&] { return sync_wanted_.load() || stopping_; });
    sync_wanted_ = false;
    if (stopping_) break;
    lock.unlock();
    // Keep going while rounds make progress; a round that could do nothing waits.
    while (SyncOnce()) {
    }
    if (std::chrono::steady_clock::now() >= next_progress) {
      ProgressTick();
      next_progress = std::chrono::steady_clock::now() + config_.progress_interval;
    }
    lock.lock();
  }
}

bool WatchableStore::SyncOnce() {
  int64_t from = std::numeric_limits<int64_t>::max(), to = 0;
  {
    std::lock_guard lock(mu_);
    for (Watcher* w : unsynced_.All()) {
      if (w->stream->HasRoom(2)) from = std::min(from, w->next_rev);
    }
    if (from == std::numeric_limits<int64_t>::max()) return false;
    to = std::min(notified_rev_, from + config_.catch_up_revisions_max - 1);
  }
  auto history = store_->History(from, to);
  std::lock_guard lock(mu_);
  if (!history.ok()) {
    if (history.status().message() == kErrCompacted) {
      CancelCompacted(store_->CompactRev());
      return true;
    }
    base::Log(base::LogLevel::kError, "watch: cannot read history",
              {{"from", std::to_string(from)}, {"error", history.status().ToString()}});
    return false;
  }
  // Events by watcher, each watcher taking only revisions from its own next one.
  absl::flat_hash_map<Watcher*, std::vector<const mvccpb::Event*>> matched;
  for (const mvccpb::Event& event : *history) {
    unsynced_.ForEachMatch(event.kv().key(), [&](Watcher* w) {
      if (w->next_rev <= event.kv().mod_revision()) matched[w].push_back(&event);
    });
  }
  bool progressed = false;
  for (Watcher* w : unsynced_.All()) {
    // Created or left behind since the read began below `from`, or a stream still full:
    // the next round takes it.
    if (w->next_rev < from || w->next_rev > to + 1 || !w->stream->HasRoom(2)) continue;
    if (auto it = matched.find(w); it != matched.end()) {
      Deliver(w, to, it->second, true);
    }
    w->next_rev = to + 1;
    progressed = true;
    if (w->next_rev > notified_rev_) MoveToSynced(w);
  }
  return progressed;
}

// Every unsynced watcher that still needs a revision below the compaction.
void WatchableStore::CancelCompacted(int64_t compact_rev) {
  for (Watcher* w : unsynced_.All()) {
    if (w->next_rev >= compact_rev) continue;
    WatchResponse response;
    response.watch_id = w->id;
    response.revision = notified_rev_;
    response.canceled = true;
    response.compact_revision = compact_rev;
    WatchStream* stream = w->stream;
    Remove(w);
    (void)stream->Push(std::move(response), true);
  }
}

// etcd's progress_notify: a watcher that was sent no events since the last tick and is
// synced gets an empty response at the current revision.
void WatchableStore::ProgressTick() {
  std::lock_guard lock(mu_);
  for (WatchStream* stream : streams_) {
    for (auto& [id, w] : stream->watchers_) {
      if (!w->progress_notify) continue;
      if (w->synced && !w->sent_since_progress) {
        WatchResponse response;
        response.watch_id = id;
        response.revision = notified_rev_;
        (void)stream->Push(std::move(response), true);
      }
      w->sent_since_progress = false;
    }
  }
}

}  // namespace etcpp::mvcc
