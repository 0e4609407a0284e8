// EtcdServer's watch hook: the MVCC store's writes feed the watchable store, and API
// streams open WatchStreams on it (server.h, "Watch").
#include "server/server.h"

namespace etcpp::server {

mvcc::Store::Options EtcdServer::WatchStoreOptions() {
  mvcc::Store::Options options;
  // The apply thread writes; watchable_ exists before the first entry is applied.
  options.on_write = [this](int64_t revision, std::vector<mvccpb::Event> events) {
    watchable_->Notify(revision, std::move(events));
  };
  return options;
}

void EtcdServer::StartWatchable() {
  mvcc::WatchConfig config;
  config.progress_interval = std::chrono::milliseconds(config_.watch_progress_notify_interval_ms);
  watchable_ = std::make_unique<mvcc::WatchableStore>(store_.get(), config);
}

std::unique_ptr<mvcc::WatchStream> EtcdServer::NewWatchStream(std::function<void()> on_ready) {
  return watchable_->NewStream(std::move(on_ready));
}

etcdserverpb::WatchResponse EtcdServer::WatchResponseToWire(mvcc::WatchResponse response) const {
  etcdserverpb::WatchResponse wire;
  wire.mutable_header()->set_revision(response.revision);
  FillHeader(wire.mutable_header());
  wire.set_watch_id(response.watch_id);
  wire.set_created(response.created);
  wire.set_canceled(response.canceled);
  wire.set_compact_revision(response.compact_revision);
  wire.set_cancel_reason(std::move(response.cancel_reason));
  for (auto& event : response.events) *wire.add_events() = std::move(event);
  return wire;
}

}  // namespace etcpp::server
