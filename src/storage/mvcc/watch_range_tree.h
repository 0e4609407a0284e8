// RangeTree: the watchers of general ranges [key, end) (end empty: unbounded), as an
// interval tree, so that finding the ranges holding a key costs O(log n + matches)
// however many ranges there are. A treap ordered by (start key, watcher), each node
// remembering the watcher with the largest end in its subtree: a subtree whose largest
// end is <= the key holds no match, nor does anything right of a node starting after it.
//
// Example: ranges [b, d) w1, [a, c) w2, [c, +inf) w3. Stab("c"): w2 ends at c (no),
// w1 holds c (yes), w3 starts at c (yes).
//
// Not thread-safe: the WatchableStore's mutex guards it (via WatcherIndex).
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/mvcc/watcher.h"

namespace etcpp::mvcc {

class RangeTree {
 public:
  RangeTree() = default;
  RangeTree(const RangeTree&) = delete;
  RangeTree& operator=(const RangeTree&) = delete;
  ~RangeTree() { Free(root_); }

  void Insert(Watcher* w);
  void Erase(Watcher* w);

  template <typename Fn>
  void Stab(std::string_view key, Fn&& fn) const {
    Stab(root_, key, fn);
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    ForEach(root_, fn);
  }

 private:
  struct Node {
    Watcher* w;
    uint64_t priority;
    const Watcher* max_end;  // the watcher with the largest end in this subtree
    Node* left = nullptr;
    Node* right = nullptr;
  };

  // a's end < b's end, an empty end being +infinity.
  static bool EndLess(const Watcher* a, const Watcher* b) {
    if (a->end.empty()) return false;
    return b->end.empty() || a->end < b->end;
  }
  static bool Before(const Watcher* a, const Watcher* b);  // tree order: (key, address)
  static void Update(Node* n);
  // Splits n into the nodes before w (or also w itself when `inclusive`) and the rest.
  static void Split(Node* n, const Watcher* w, bool inclusive, Node** left, Node** right);
  static Node* Merge(Node* left, Node* right);
  static void Free(Node* n);

  template <typename Fn>
  static void Stab(const Node* n, std::string_view key, Fn& fn) {
    // Nothing here ends after the key.
    if (n == nullptr || (!n->max_end->end.empty() && n->max_end->end <= key)) return;
    Stab(n->left, key, fn);
    if (n->w->key > key) return;  // this node and its right subtree start after the key
    if (n->w->end.empty() || key < n->w->end) fn(n->w);
    Stab(n->right, key, fn);
  }
  template <typename Fn>
  static void ForEach(const Node* n, Fn& fn) {
    if (n == nullptr) return;
    ForEach(n->left, fn);
    fn(n->w);
    ForEach(n->right, fn);
  }

  Node* root_ = nullptr;
  uint64_t seed_ = 0x9e3779b97f4a7c15ull;  // treap priorities: a fixed xorshift sequence
};

}  // namespace etcpp::mvcc
