// Store::Compact, Store::Hash and Store::HashKV (etcd's kvstore.go compaction and HashByRev).
//
// Compaction happens at once, in the current backend batch: the index forgets the old
// revisions and their records are deleted from the key bucket, except each key's newest
// record <= revision when it is a put (reads at `revision` need it) or a tombstone
// exactly at `revision` (kept since etcd 3.5.16 for watchers starting there). etcd deletes in
// paced chunks because bbolt writers block its readers; LMDB readers are never blocked
// by the writer, so one pass only delays the writer. meta records the compaction as
// scheduled and finished (etcd's keys and format) in the same batch.
#include "base/assert.h"
#include "base/crc32c.h"
#include "storage/mvcc/store.h"

namespace etcpp::mvcc {

using base::Result;
using base::Status;

Status Store::Compact(int64_t revision) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (!broken_.ok()) return broken_;
  if (revision <= compact_rev_) return ErrCompacted();
  if (revision > current_rev_) return ErrFutureRev();
  return CompactLocked(revision);
}

Status Store::CompactLocked(int64_t revision) {
  const std::string revision_bytes = BucketKey(Revision{revision, 0}, false);
  ETCPP_RETURN_IF_ERROR(backend_->Put(backend::Bucket::kMeta, "scheduledCompactRev", revision_bytes));
  compact_rev_ = revision;
  absl::flat_hash_set<Revision> keep = index_.Compact(revision);

  std::vector<std::string> doomed;
  Status scanned = backend_->ForEachForWrite(
      backend::Bucket::kKey, "", BucketKeyPrefix(revision + 1),
      [&](std::string_view key, std::string_view) {
        DecodedBucketKey decoded;
        ETCPP_ASSERT(DecodeBucketKey(key, &decoded));
        if (!keep.contains(decoded.revision)) doomed.emplace_back(key);
        return true;
      });
  for (size_t i = 0; scanned.ok() && i < doomed.size(); ++i) {
    scanned = backend_->Delete(backend::Bucket::kKey, doomed[i]);
  }
  if (scanned.ok()) scanned = backend_->Put(backend::Bucket::kMeta, "finishedCompactRev", revision_bytes);
  // The index is already compacted; a backend that failed half-way no longer matches it.
  if (!scanned.ok()) broken_ = scanned;
  return scanned;
}

Result<HashKVResponse> Store::Hash() {
  ETCPP_RETURN_IF_ERROR(Commit());
  auto hash = backend_->Hash([](backend::Bucket bucket, std::string_view key) {
    // Member-local bookkeeping differs between members by design: consistent_index,
    // term, and whatever the server keeps under "local_".
    return bucket == backend::Bucket::kMeta &&
           (key == "consistent_index" || key == "term" || key.starts_with("local_"));
  });
  if (!hash.ok()) return hash.status();
  HashKVResponse response;
  response.hash = *hash;
  response.revision = Rev();
  return response;
}

// Hashes through the writer's transaction, so it sees the current batch and the exact
// effect of compactions (which records exist below the compacted revision matters, see
// the `keep` rule below) — hence writer thread only.
Result<HashKVResponse> Store::HashKV(int64_t revision) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!broken_.ok()) return broken_;
  if (revision > 0 && revision < compact_rev_) return ErrCompacted();
  if (revision > current_rev_) return ErrFutureRev();
  const int64_t at = revision == 0 ? current_rev_ : revision;
  // etcd hashes the records each member is guaranteed to hold: below the compacted
  // revision only those a compaction at `at` would keep — unless that set is empty,
  // in which case (etcd's quirk, kept for equal hashes) nothing is skipped.
  const absl::flat_hash_set<Revision> keep = index_.Keep(at);
  uint32_t hash = base::crc32c::Extend(0, backend::BucketName(backend::Bucket::kKey));
  // etcd passes a negative revision through and then hashes no records at all.
  Status scanned = at < 0 ? Status::Ok() : backend_->ForEachForWrite(
      backend::Bucket::kKey, "", BucketKeyPrefix(at + 1),
      [&](std::string_view key, std::string_view value) {
        DecodedBucketKey decoded;
        ETCPP_ASSERT(DecodeBucketKey(key, &decoded));
        if (decoded.revision.main <= compact_rev_ && !keep.empty() && !keep.contains(decoded.revision)) {
          return true;
        }
        // A tombstone at the compacted revision is kept by newer etcd only; skipping it
        // keeps the hash equal to older members'.
        if (decoded.tombstone && decoded.revision.main == compact_rev_) return true;
        hash = base::crc32c::Extend(hash, key);
        hash = base::crc32c::Extend(hash, value);
        return true;
      });
  ETCPP_RETURN_IF_ERROR(scanned);
  HashKVResponse response;
  response.hash = hash;
  response.revision = current_rev_;
  response.compact_revision = compact_rev_;
  response.hash_revision = at;
  return response;
}

}  // namespace etcpp::mvcc
