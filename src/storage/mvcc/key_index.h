// KeyIndex: the in-memory history of one key — which revisions wrote it — grouped into
// generations. A generation is one life of the key: from the put that created it to the
// delete (tombstone) that ended it. The values themselves live in the backend, under
// the revisions listed here.
//
// Worked example. Put at 1.0, put at 2.0, delete at 3.0, put at 4.0, put at 5.0:
//
//   generations: { created 1, version 2, revisions [1.0, 2.0, 3.0(tombstone)] }
//                { created 4, version 2, revisions [4.0, 5.0] }
//
// After a delete at 6.0 an empty generation is appended, waiting for the next put:
//
//   { created 1, v 2, [1.0 2.0 3.0] } { created 4, v 2, [4.0 5.0 6.0] } { empty }
//
// Get(atRev) answers "what was the key at revision atRev": Get(2) → modified 2.0,
// created 1, version 2; Get(3) → absent (deleted at 3); Get(5) → 5.0, created 4, v 2;
// Get(6) and later → absent.
//
// Compact(atRev) forgets what no read at atRev or later can need: generations whose
// tombstone is older than atRev vanish, and in the first remaining generation only the
// newest revision <= atRev and later ones stay. Compact(4) on the second state above
// leaves { created 4, v 2, [4.0 5.0 6.0] } { empty } and reports 4.0 as the revision
// whose backend record must stay ("available"). Compact(6) leaves
// { created 4, v 2, [6.0] } { empty }: a tombstone exactly at atRev is kept, as etcd
// >= 3.5.16 does, so a watcher starting at the compacted revision still sees the
// delete; Compact(7) then leaves nothing and the key is dropped from the tree. A
// generation's `version` and `created` survive compaction: they count puts, not
// remembered revisions.
//
// Invariants (asserted): revisions only grow; every generation but the last is
// non-empty and ends with its tombstone (after compaction possibly only that
// tombstone); there is always at least one generation.
//
// Memory: a KeyIndex is one allocation holding this header and the key bytes after it
// (the tree stores only a pointer), and the first generation with its first revision
// are stored inline — a key written once costs a single small allocation. See
// docs/PERFORMANCE.md for the measured bytes per key.
//
// Not thread-safe; TreeIndex's owner serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "storage/mvcc/revision.h"

namespace etcpp::mvcc {

class KeyIndex {
 public:
  struct Deleter {
    void operator()(KeyIndex* index) const;
  };
  using Ptr = std::unique_ptr<KeyIndex, Deleter>;

  static Ptr New(std::string_view key);

  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(this + 1), key_size_);
  }

  struct Found {
    Revision modified;     // the revision of the put visible at atRev
    int64_t created = 0;   // main revision that created its generation
    int64_t version = 0;   // puts in that generation up to `modified`
  };
  std::optional<Found> Get(int64_t at_rev) const;

  void Put(Revision revision);
  // Starts the index from a backend record when earlier history was compacted away.
  void Restore(int64_t created, Revision modified, int64_t version);
  // Starts the index from a tombstone whose generation was compacted away except for
  // the tombstone itself (compaction keeps a tombstone at the compacted revision).
  void RestoreTombstone(Revision revision);
  // Ends the current generation. False (and no change) when the key is not live.
  bool Tombstone(Revision revision);

  // Undoes the newest change, which must be `revision` (a failed txn's changes are
  // unwound newest first). Returns true when the key has no history left.
  bool Unwind(Revision revision);

  // Drops history not needed at at_rev or later; adds the kept revisions <= at_rev to
  // `available`. Returns true when nothing is left (the caller drops the KeyIndex).
  bool Compact(int64_t at_rev, absl::flat_hash_set<Revision>* available);
  // What Compact(at_rev) would keep, without changing anything (for HashKV).
  void Keep(int64_t at_rev, absl::flat_hash_set<Revision>* available) const;

  bool IsEmpty() const { return generations_.size() == 1 && generations_[0].revisions.empty(); }

  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

 private:
  struct Generation {
    int64_t version = 0;
    int64_t created = 0;
    absl::InlinedVector<Revision, 1> revisions;
    bool empty() const { return revisions.empty(); }
  };

  explicit KeyIndex(uint32_t key_size) : key_size_(key_size) { generations_.emplace_back(); }
  ~KeyIndex() = default;

  const Generation* FindGeneration(int64_t at_rev) const;
  // etcd's doCompact: the generation holding at_rev (or the first after it) and the
  // index of its newest revision <= at_rev (-1 if none).
  std::pair<size_t, int> CompactPoint(int64_t at_rev) const;
  Revision Last() const;

  absl::InlinedVector<Generation, 1> generations_;
  uint32_t key_size_;
};

}  // namespace etcpp::mvcc
