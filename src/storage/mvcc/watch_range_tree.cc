// RangeTree — see watch_range_tree.h.
#include "storage/mvcc/watch_range_tree.h"

#include <functional>

#include "base/assert.h"

namespace etcpp::mvcc {

bool RangeTree::Before(const Watcher* a, const Watcher* b) {
  if (a->key != b->key) return a->key < b->key;
  return std::less<const Watcher*>()(a, b);
}

void RangeTree::Update(Node* n) {
  n->max_end = n->w;
  for (const Node* child : {n->left, n->right}) {
    if (child != nullptr && EndLess(n->max_end, child->max_end)) n->max_end = child->max_end;
  }
}

void RangeTree::Split(Node* n, const Watcher* w, bool inclusive, Node** left, Node** right) {
  if (n == nullptr) {
    *left = *right = nullptr;
    return;
  }
  const bool goes_left = Before(n->w, w) || (inclusive && n->w == w);
  if (goes_left) {
    Split(n->right, w, inclusive, &n->right, right);
    *left = n;
  } else {
    Split(n->left, w, inclusive, left, &n->left);
    *right = n;
  }
  Update(n);
}

RangeTree::Node* RangeTree::Merge(Node* left, Node* right) {
  if (left == nullptr) return right;
  if (right == nullptr) return left;
  if (left->priority > right->priority) {
    left->right = Merge(left->right, right);
    Update(left);
    return left;
  }
  right->left = Merge(left, right->left);
  Update(right);
  return right;
}

void RangeTree::Free(Node* n) {
  if (n == nullptr) return;
  Free(n->left);
  Free(n->right);
  delete n;
}

void RangeTree::Insert(Watcher* w) {
  seed_ ^= seed_ << 13;
  seed_ ^= seed_ >> 7;
  seed_ ^= seed_ << 17;
  Node* node = new Node{w, seed_, w};
  Node *left, *right;
  Split(root_, w, false, &left, &right);
  root_ = Merge(Merge(left, node), right);
}

void RangeTree::Erase(Watcher* w) {
  Node *left, *rest, *self, *right;
  Split(root_, w, false, &left, &rest);
  Split(rest, w, true, &self, &right);
  ETCPP_ASSERT_MSG(
      self != nullptr && self->w == w && self->left == nullptr && self->right == nullptr,
      "watcher missing from the range tree");
  delete self;
  root_ = Merge(left, right);
}

}  // namespace etcpp::mvcc
