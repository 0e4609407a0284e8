// WatcherIndex: the watchers of one group (synced or unsynced, watch.h) indexed by the
// keys they watch, so that finding the watchers of a changed key costs what matches it,
// not what the group holds:
//   - single keys: a hash map key → watchers;
//   - prefixes (range_end is the key's prefix end, as `--prefix` sends): a hash map
//     prefix → watchers, probed once per distinct prefix length in the group
//     (a key "a/b/c" with prefixes of lengths {2, 4} watched costs two lookups);
//   - other ranges [key, end) and open ranges (end "\0"): an ordered map by start key,
//     walked up to the changed key. Clients rarely send these; their cost grows with
//     how many start at or below the key.
// Watchers with the same key/prefix/start form an intrusive doubly-linked list, so
// adding and removing one is O(1) after the map lookup, however many share it.
//
// Not thread-safe: the WatchableStore's mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

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

// Classifies a range as etcd's watch request sends it (after "" → "\0" for the key):
// end empty → one key; "\0" → every key >= key; the prefix end of key → a prefix.
WatchRangeKind ClassifyWatchRange(const std::string& key, const std::string& end);
// etcd's GetPrefixRangeEnd: key with its last byte below 0xff incremented and the rest
// cut; "\0" when every byte is 0xff.
std::string PrefixEnd(std::string_view key);

class WatcherIndex {
 public:
  void Add(Watcher* w);
  void Remove(Watcher* w);
  size_t size() const { return size_; }

  // Calls fn(Watcher*) for every watcher whose range holds `key`. fn must not change
  // the index.
  template <typename Fn>
  void ForEachMatch(std::string_view key, Fn&& fn) const {
    if (auto it = keys_.find(View(key)); it != keys_.end()) Walk(it->second, fn);
    for (const auto& [length, count] : prefix_lengths_) {
      if (length > key.size()) break;
      if (auto it = prefixes_.find(View(key.substr(0, length))); it != prefixes_.end()) Walk(it->second, fn);
    }
    for (auto it = ranges_.begin(); it != ranges_.end() && it->first <= key; ++it) {
      for (Watcher* w = it->second; w != nullptr; w = w->next) {
        if (w->Matches(key)) fn(w);
      }
    }
  }

  // Every watcher, in no particular order.
  std::vector<Watcher*> All() const;

 private:
  using Heads = absl::flat_hash_map<std::string, Watcher*>;
  // Debian's Abseil has its own string_view type, which its string hash takes.
  static absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }
  template <typename Fn>
  static void Walk(Watcher* head, Fn&& fn) {
    for (Watcher* w = head; w != nullptr; w = w->next) fn(w);
  }
  template <typename Map>
  static void Link(Map& map, Watcher* w);
  template <typename Map>
  static void Unlink(Map& map, Watcher* w);

  Heads keys_;
  Heads prefixes_;
  std::map<size_t, size_t> prefix_lengths_;  // length → prefix watchers of that length
  absl::btree_map<std::string, Watcher*> ranges_;
  size_t size_ = 0;
};

}  // namespace etcpp::mvcc
