// Revision: etcd's logical clock for the key space. `main` grows by one for every write
// transaction that changes something; `sub` numbers the changes inside it (0, 1, ...).
// Every stored version of every key is named by the revision that wrote it.
//
// In the backend `key` bucket a revision is the bucket key (etcd's format, so byte
// order = revision order): 8 bytes big-endian main, '_', 8 bytes big-endian sub, and a
// trailing 't' when the record is a delete (tombstone). Example: {5, 1} deleting a key
// is 00 00 00 00 00 00 00 05 5f 00 00 00 00 00 00 00 01 74.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"

namespace etcpp::mvcc {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  friend auto operator<=>(const Revision&, const Revision&) = default;
  friend bool operator==(const Revision&, const Revision&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Revision& r) {
    return H::combine(std::move(h), r.main, r.sub);
  }
};

inline constexpr size_t kRevisionBytes = 17;
inline constexpr char kTombstoneMark = 't';

std::string BucketKey(Revision revision, bool tombstone);
// Only the 8-byte main part: every bucket key of revisions with main < `main` sorts
// below it (a scan bound).
std::string BucketKeyPrefix(int64_t main);

struct DecodedBucketKey {
  Revision revision;
  bool tombstone = false;
};
// False when `key` is not 17 or 18 bytes in the format above.
bool DecodeBucketKey(std::string_view key, DecodedBucketKey* out);

}  // namespace etcpp::mvcc
