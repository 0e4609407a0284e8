// TreeIndex — see tree_index.h.
#include "storage/mvcc/tree_index.h"

#include "base/assert.h"

namespace etcpp::mvcc {

KeyRange KeyRange::From(std::string_view key, std::string_view range_end) {
  KeyRange range;
  range.key = key;
  range.end = range_end;
  range.single = range_end.empty();
  // etcd's mkGteRange: a range_end of one zero byte means "no upper bound".
  range.unbounded = range_end.size() == 1 && range_end[0] == '\0';
  return range;
}

template <typename Fn>
void TreeIndex::Visit(const KeyRange& range, Fn&& fn) const {
  if (range.single) {
    auto it = tree_.find(range.key);
    if (it != tree_.end()) fn(**it);
    return;
  }
  for (auto it = tree_.lower_bound(range.key); it != tree_.end(); ++it) {
    if (!range.unbounded && (*it)->key() >= range.end) break;
    fn(**it);
  }
}

std::optional<KeyIndex::Found> TreeIndex::Get(std::string_view key, int64_t at_rev) const {
  auto it = tree_.find(key);
  if (it == tree_.end()) return std::nullopt;
  return (*it)->Get(at_rev);
}

std::pair<std::vector<Revision>, int64_t> TreeIndex::Revisions(const KeyRange& range,
                                                               int64_t at_rev,
                                                               int64_t limit) const {
  std::vector<Revision> revisions;
  int64_t total = 0;
  Visit(range, [&](const KeyIndex& index) {
    if (auto found = index.Get(at_rev)) {
      if (limit <= 0 || static_cast<int64_t>(revisions.size()) < limit) {
        revisions.push_back(found->modified);
      }
      ++total;
    }
  });
  return {std::move(revisions), total};
}

int64_t TreeIndex::CountRevisions(const KeyRange& range, int64_t at_rev) const {
  int64_t total = 0;
  Visit(range, [&](const KeyIndex& index) { total += index.Get(at_rev).has_value() ? 1 : 0; });
  return total;
}

std::vector<std::string> TreeIndex::Keys(const KeyRange& range, int64_t at_rev) const {
  std::vector<std::string> keys;
  Visit(range, [&](const KeyIndex& index) {
    if (index.Get(at_rev).has_value()) keys.emplace_back(index.key());
  });
  return keys;
}

void TreeIndex::Put(std::string_view key, Revision revision) {
  auto it = tree_.find(key);
  if (it == tree_.end()) it = tree_.insert(KeyIndex::New(key)).first;
  (*it)->Put(revision);
}

void TreeIndex::Restore(std::string_view key, int64_t created, Revision modified,
                        int64_t version) {
  auto [it, inserted] = tree_.insert(KeyIndex::New(key));
  ETCPP_ASSERT(inserted);
  (*it)->Restore(created, modified, version);
}

void TreeIndex::RestoreTombstone(std::string_view key, Revision revision) {
  auto [it, inserted] = tree_.insert(KeyIndex::New(key));
  ETCPP_ASSERT(inserted);
  (*it)->RestoreTombstone(revision);
}

bool TreeIndex::Tombstone(std::string_view key, Revision revision) {
  auto it = tree_.find(key);
  if (it == tree_.end()) return false;
  return (*it)->Tombstone(revision);
}

void TreeIndex::Unwind(std::string_view key, Revision revision) {
  auto it = tree_.find(key);
  ETCPP_ASSERT(it != tree_.end());
  if ((*it)->Unwind(revision)) tree_.erase(it);
}

absl::flat_hash_set<Revision> TreeIndex::Compact(int64_t at_rev) {
  absl::flat_hash_set<Revision> available;
  for (auto it = tree_.begin(); it != tree_.end();) {
    if ((*it)->Compact(at_rev, &available)) {
      it = tree_.erase(it);
    } else {
      ++it;
    }
  }
  return available;
}

absl::flat_hash_set<Revision> TreeIndex::Keep(int64_t at_rev) const {
  absl::flat_hash_set<Revision> available;
  for (const auto& index : tree_) index->Keep(at_rev, &available);
  return available;
}

}  // namespace etcpp::mvcc
