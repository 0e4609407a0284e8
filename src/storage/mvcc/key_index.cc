// KeyIndex — see key_index.h for the generation model and a worked example.
#include "storage/mvcc/key_index.h"

#include <cstring>
#include <limits>
#include <new>

#include "base/assert.h"

namespace etcpp::mvcc {

// docs/PERFORMANCE.md's bytes-per-key figure rests on this header size.
static_assert(sizeof(KeyIndex) <= 56, "KeyIndex header grew: re-measure the index memory");

void KeyIndex::Deleter::operator()(KeyIndex* index) const {
  index->~KeyIndex();
  ::operator delete(index);
}

KeyIndex::Ptr KeyIndex::New(std::string_view key) {
  ETCPP_ASSERT(key.size() <= std::numeric_limits<uint32_t>::max());
  void* memory = ::operator new(sizeof(KeyIndex) + key.size());
  auto* index = new (memory) KeyIndex(static_cast<uint32_t>(key.size()));
  // The key bytes follow the object in the same allocation (see key()).
  if (!key.empty()) std::memcpy(static_cast<char*>(memory) + sizeof(KeyIndex), key.data(), key.size());
  return Ptr(index);
}

Revision KeyIndex::Last() const {
  for (auto g = generations_.rbegin(); g != generations_.rend(); ++g) {
    if (!g->empty()) return g->revisions.back();
  }
  return Revision{};
}

void KeyIndex::Put(Revision revision) {
  ETCPP_ASSERT_MSG(revision > Last(), "key index: put must use a newer revision");
  Generation& g = generations_.back();
  if (g.empty()) g.created = revision.main;
  g.revisions.push_back(revision);
  ++g.version;
}

void KeyIndex::Restore(int64_t created, Revision modified, int64_t version) {
  ETCPP_ASSERT(IsEmpty());
  Generation& g = generations_.back();
  g.created = created;
  g.version = version;
  g.revisions.push_back(modified);
}

void KeyIndex::RestoreTombstone(Revision revision) {
  ETCPP_ASSERT(IsEmpty());
  Generation& g = generations_.back();
  g.version = 1;
  g.revisions.push_back(revision);
  generations_.emplace_back();
}

bool KeyIndex::Tombstone(Revision revision) {
  if (generations_.back().empty()) return false;
  Put(revision);
  generations_.emplace_back();
  return true;
}

bool KeyIndex::Unwind(Revision revision) {
  // A tombstone left an empty generation behind it; the tombstone is the newest
  // revision of the generation before.
  if (generations_.back().empty() && generations_.size() > 1) generations_.pop_back();
  Generation& g = generations_.back();
  ETCPP_ASSERT_MSG(!g.empty() && g.revisions.back() == revision, "key index: unwind out of order");
  g.revisions.pop_back();
  --g.version;
  if (g.empty()) {
    ETCPP_ASSERT(g.version == 0);  // the generation was created by the unwound put
    g.created = 0;
  }
  return IsEmpty();
}

// The generation live at at_rev, or nullptr when the key did not exist then. A
// generation that ended (its tombstone main <= at_rev) does not count.
const KeyIndex::Generation* KeyIndex::FindGeneration(int64_t at_rev) const {
  const size_t last = generations_.size() - 1;
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    if (i != last && g.revisions.back().main <= at_rev) return nullptr;
    if (g.revisions.front().main <= at_rev) return &g;
  }
  return nullptr;
}

std::optional<KeyIndex::Found> KeyIndex::Get(int64_t at_rev) const {
  const Generation* g = FindGeneration(at_rev);
  if (g == nullptr) return std::nullopt;
  const auto& revs = g->revisions;
  for (size_t n = revs.size(); n-- > 0;) {
    if (revs[n].main <= at_rev) {
      // version counts the puts up to revs[n]; the later ones in this generation
      // are not visible at at_rev.
      int64_t later = static_cast<int64_t>(revs.size() - n - 1);
      return Found{revs[n], g->created, g->version - later};
    }
  }
  return std::nullopt;
}

std::pair<size_t, int> KeyIndex::CompactPoint(int64_t at_rev) const {
  size_t gen = 0;
  // Skip generations that ended before at_rev; the last one always qualifies. A
  // generation ending exactly at at_rev is kept with its tombstone (etcd >= 3.5.16), so
  // that a watcher starting at the compacted revision still gets the delete — unless
  // the same txn deleted and re-created the key, so that the next generation also
  // starts at at_rev and holds the newest revision (etcd's API layer rejects such txns
  // as "duplicate key"; the store accepts them and must not lose the re-created key).
  auto ended_before = [&](size_t g) {
    const Generation& next = generations_[g + 1];
    return generations_[g].revisions.back().main < at_rev ||
           (!next.empty() && next.revisions.front().main <= at_rev);
  };
  while (gen < generations_.size() - 1 && ended_before(gen)) ++gen;
  const auto& revs = generations_[gen].revisions;
  for (int n = static_cast<int>(revs.size()) - 1; n >= 0; --n) {
    if (revs[n].main <= at_rev) return {gen, n};
  }
  return {gen, -1};
}

bool KeyIndex::Compact(int64_t at_rev, absl::flat_hash_set<Revision>* available) {
  ETCPP_ASSERT(!IsEmpty());
  auto [gen, n] = CompactPoint(at_rev);
  if (n >= 0) {
    Generation& g = generations_[gen];
    available->insert(g.revisions[n]);
    g.revisions.erase(g.revisions.begin(), g.revisions.begin() + n);
  }
  generations_.erase(generations_.begin(), generations_.begin() + static_cast<ptrdiff_t>(gen));
  return IsEmpty();
}

void KeyIndex::Keep(int64_t at_rev, absl::flat_hash_set<Revision>* available) const {
  if (IsEmpty()) return;
  auto [gen, n] = CompactPoint(at_rev);
  if (n < 0) return;
  const auto& revs = generations_[gen].revisions;
  // A tombstone kept by compaction is left out, so that hashes agree with members
  // running etcd versions that still deleted it.
  const bool tombstone = n == static_cast<int>(revs.size()) - 1 && gen != generations_.size() - 1;
  if (!tombstone) available->insert(revs[n]);
}

}  // namespace etcpp::mvcc
