// TreeIndex: every key's KeyIndex, ordered by key bytes in an Abseil B-tree (etcd's
// treeIndex). The tree holds one pointer per key; the key bytes live in the KeyIndex.
//
// Not thread-safe: the Store guards it with its mutex (writers exclusive, readers
// shared); all const functions are safe to run concurrently with each other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "storage/mvcc/key_index.h"

namespace etcpp::mvcc {

// The keys a request names (etcd's key + range_end): one key when range_end is empty;
// every key >= key when range_end is "\0"; otherwise [key, range_end).
struct KeyRange {
  std::string_view key;
  std::string_view end;
  bool single = true;
  bool unbounded = false;

  static KeyRange From(std::string_view key, std::string_view range_end);
};

class TreeIndex {
 public:
  std::optional<KeyIndex::Found> Get(std::string_view key, int64_t at_rev) const;

  // The revisions visible at at_rev in key order, at most `limit` of them (limit <= 0:
  // all), and how many there are in total.
  std::pair<std::vector<Revision>, int64_t> Revisions(const KeyRange& range, int64_t at_rev,
                                                      int64_t limit) const;
  int64_t CountRevisions(const KeyRange& range, int64_t at_rev) const;
  // The keys live at at_rev.
  std::vector<std::string> Keys(const KeyRange& range, int64_t at_rev) const;

  void Put(std::string_view key, Revision revision);
  void Restore(std::string_view key, int64_t created, Revision modified, int64_t version);
  void RestoreTombstone(std::string_view key, Revision revision);
  // False when the key is not live (nothing changes).
  bool Tombstone(std::string_view key, Revision revision);
  // Undoes the key's newest change (see KeyIndex::Unwind).
  void Unwind(std::string_view key, Revision revision);
  bool Contains(std::string_view key) const { return tree_.contains(key); }

  // Compacts every key (see KeyIndex::Compact) and drops keys left with nothing; returns
  // the revisions <= at_rev whose backend records must be kept.
  absl::flat_hash_set<Revision> Compact(int64_t at_rev);
  absl::flat_hash_set<Revision> Keep(int64_t at_rev) const;

  size_t size() const { return tree_.size(); }

 private:
  struct Less {
    using is_transparent = void;
    static std::string_view View(std::string_view s) { return s; }
    static std::string_view View(const KeyIndex::Ptr& p) { return p->key(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a) < View(b);
    }
  };

  template <typename Fn>
  void Visit(const KeyRange& range, Fn&& fn) const;

  absl::btree_set<KeyIndex::Ptr, Less> tree_;
};

}  // namespace etcpp::mvcc
