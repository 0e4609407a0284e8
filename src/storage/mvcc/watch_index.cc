// WatcherIndex — see watch_index.h.
#include "storage/mvcc/watch_index.h"

#include "base/assert.h"

namespace etcpp::mvcc {

bool Watcher::Matches(std::string_view k) const {
  switch (kind) {
    case WatchRangeKind::kKey:
      return k == key;
    case WatchRangeKind::kPrefix:
    case WatchRangeKind::kRange:
      return k >= key && (end.empty() || k < end);
  }
  return false;
}

std::string PrefixEnd(std::string_view key) {
  std::string end(key);
  for (size_t i = end.size(); i-- > 0;) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(static_cast<unsigned char>(end[i]) + 1);
      end.resize(i + 1);
      return end;
    }
  }
  return std::string(1, '\0');
}

WatchRangeKind ClassifyWatchRange(const std::string& key, const std::string& end) {
  if (end.empty()) return WatchRangeKind::kKey;
  if (end != std::string(1, '\0') && end == PrefixEnd(key)) return WatchRangeKind::kPrefix;
  return WatchRangeKind::kRange;
}

template <typename Map>
void WatcherIndex::Link(Map& map, Watcher* w) {
  auto [it, inserted] = map.try_emplace(w->key, w);
  w->prev = nullptr;
  w->next = inserted ? nullptr : it->second;
  if (!inserted) {
    it->second->prev = w;
    it->second = w;
  }
}

template <typename Map>
void WatcherIndex::Unlink(Map& map, Watcher* w) {
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    auto it = map.find(w->key);
    ETCPP_ASSERT_MSG(it != map.end() && it->second == w, "watcher missing from its index");
    if (w->next == nullptr) {
      map.erase(it);
    } else {
      it->second = w->next;
    }
  }
  if (w->next != nullptr) w->next->prev = w->prev;
  w->prev = w->next = nullptr;
}

void WatcherIndex::Add(Watcher* w) {
  switch (w->kind) {
    case WatchRangeKind::kKey:
      Link(keys_, w);
      break;
    case WatchRangeKind::kPrefix:
      Link(prefixes_, w);
      ++prefix_lengths_[w->key.size()];
      break;
    case WatchRangeKind::kRange:
      Link(ranges_, w);
      break;
  }
  ++size_;
}

void WatcherIndex::Remove(Watcher* w) {
  switch (w->kind) {
    case WatchRangeKind::kKey:
      Unlink(keys_, w);
      break;
    case WatchRangeKind::kPrefix: {
      Unlink(prefixes_, w);
      auto it = prefix_lengths_.find(w->key.size());
      ETCPP_ASSERT(it != prefix_lengths_.end());
      if (--it->second == 0) prefix_lengths_.erase(it);
      break;
    }
    case WatchRangeKind::kRange:
      Unlink(ranges_, w);
      break;
  }
  --size_;
}

std::vector<Watcher*> WatcherIndex::All() const {
  std::vector<Watcher*> all;
  all.reserve(size_);
  for (const auto& [key, head] : keys_) Walk(head, [&](Watcher* w) { all.push_back(w); });
  for (const auto& [key, head] : prefixes_) Walk(head, [&](Watcher* w) { all.push_back(w); });
  for (const auto& [key, head] : ranges_) Walk(head, [&](Watcher* w) { all.push_back(w); });
  return all;
}

}  // namespace etcpp::mvcc
