// Watcher: one watch of a WatchStream, as the watchable store's indexes see it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace etcpp::mvcc {

class WatchStream;

enum class WatchRangeKind { kKey, kPrefix, kRange };

struct Watcher {
  int64_t id = 0;
  WatchStream* stream = nullptr;
  std::string key;
  std::string end;  // kPrefix/kRange: the range end; kRange with empty end: every key >= key
  WatchRangeKind kind = WatchRangeKind::kKey;
  bool prev_kv = false;
  bool filter_put = false;
  bool filter_delete = false;
  bool progress_notify = false;
  bool sent_since_progress = false;  // events went out since the last progress tick
  bool synced = false;
  // The first revision not yet delivered. For a synced watcher only a future start
  // revision matters (the live revisions below it are skipped).
  int64_t next_rev = 0;
  Watcher* prev = nullptr;  // the list of watchers sharing a map entry
  Watcher* next = nullptr;

  bool Matches(std::string_view k) const;
};

}  // namespace etcpp::mvcc
