// Store: open/restore, ranges and single writes — see store.h for the threading and
// visibility contract. Txn is in txn.cc, Compact and HashKV in compact.cc.
#include "storage/mvcc/store.h"

#include <algorithm>

#include "base/assert.h"
#include "storage/mvcc/range.h"
#include "storage/mvcc/txn_context.h"

namespace etcpp::mvcc {

using base::Result;
using base::Status;

Result<mvccpb::KeyValue> ParseKeyValue(std::string_view bytes, Revision revision) {
  mvccpb::KeyValue kv;
  if (!kv.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status(base::Code::kCorruption,
                  "mvcc: cannot parse the record of revision " + std::to_string(revision.main) +
                      "_" + std::to_string(revision.sub));
  }
  return kv;
}

Result<std::unique_ptr<Store>> Store::Open(backend::Backend* backend, Options options) {
  std::unique_ptr<Store> store(new Store(backend, std::move(options)));
  {
    std::unique_lock<std::shared_mutex> lock(store->mu_);
    ETCPP_RETURN_IF_ERROR(store->Restore());
  }
  backend->SetPostCommitHook([s = store.get()] { s->OnBackendCommit(); });
  return store;
}

Store::~Store() { backend_->SetPostCommitHook(nullptr); }

// Rebuilds the index from the key bucket in revision order (etcd's restore): the first
// record seen of a key starts its index from the record's create revision and version
// (earlier history may have been compacted away), or from a lone tombstone that
// compaction kept.
Status Store::Restore() {
  int64_t last_main = 1, finished = -1, scheduled = -1;
  ETCPP_RETURN_IF_ERROR(RestoreIndex(&last_main, &finished, &scheduled));
  compact_rev_ = finished;
  // As etcd: never below a compaction, even one not finished (its records may be gone).
  current_rev_ = std::max({last_main, compact_rev_, scheduled});
  committed_rev_ = current_rev_;
  // A compaction recorded as scheduled but not finished (a file written by etcd, whose
  // compaction runs in batches) is completed now.
  if (scheduled > finished) return CompactLocked(scheduled);
  return Status::Ok();
}

Status Store::RestoreIndex(int64_t* last_main, int64_t* finished, int64_t* scheduled) {
  auto txn = backend_->Read();
  if (!txn.ok()) return txn.status();
  Status failed;
  Status scanned = txn->ForEach(backend::Bucket::kKey, "", "", [&](std::string_view key, std::string_view value) {
    DecodedBucketKey decoded;
    if (!DecodeBucketKey(key, &decoded)) {
      failed = Status(base::Code::kCorruption, "mvcc: malformed key bucket record");
      return false;
    }
    auto kv = ParseKeyValue(value, decoded.revision);
    if (!kv.ok()) {
      failed = kv.status();
      return false;
    }
    *last_main = decoded.revision.main;
    const bool known = index_.Contains(kv->key());
    if (decoded.tombstone && known) {
      index_.Tombstone(kv->key(), decoded.revision);  // false for a repeated tombstone: ignored, as etcd
    } else if (decoded.tombstone) {
      index_.RestoreTombstone(kv->key(), decoded.revision);
    } else if (known) {
      index_.Put(kv->key(), decoded.revision);
    } else {
      index_.Restore(kv->key(), kv->create_revision(), decoded.revision, kv->version());
    }
    return true;
  });
  ETCPP_RETURN_IF_ERROR(scanned);
  ETCPP_RETURN_IF_ERROR(failed);

  auto read_meta_rev = [&](std::string_view name, int64_t* out) -> Status {
    auto bytes = txn->Get(backend::Bucket::kMeta, name);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return Status::Ok();
    DecodedBucketKey decoded;
    if (!DecodeBucketKey(**bytes, &decoded)) return Status(base::Code::kCorruption, "mvcc: malformed " + std::string(name));
    *out = decoded.revision.main;
    return Status::Ok();
  };
  ETCPP_RETURN_IF_ERROR(read_meta_rev("finishedCompactRev", finished));
  return read_meta_rev("scheduledCompactRev", scheduled);
}

Status Store::ReplaceBackend(const std::string& path) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  ETCPP_RETURN_IF_ERROR(backend_->ReplaceWith(path));
  index_ = TreeIndex();
  overlay_.clear();
  broken_ = Status::Ok();
  return Restore();
}

void Store::OnBackendCommit() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  // Called on the writer thread between writes: everything up to current_rev_ is in
  // the commit that just finished.
  committed_rev_ = current_rev_;
  overlay_.clear();
}

int64_t Store::Rev() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return current_rev_;
}

int64_t Store::CompactRev() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return compact_rev_;
}

size_t Store::KeyCountForTesting() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return index_.size();
}

Result<RangeResponse> Store::RangeLocked(
    const RangeRequest& request, int64_t current_rev,
    const std::function<Result<mvccpb::KeyValue>(Revision)>& fetch) const {
  auto rev = ReadRevision(request.revision, current_rev, compact_rev_);
  if (!rev.ok()) return rev.status();
  const KeyRange range = KeyRange::From(request.key, request.range_end);
  if (request.count_only) {
    return FinishRange(request, current_rev, index_.CountRevisions(range, *rev), {});
  }
  auto [revisions, total] = index_.Revisions(range, *rev, IndexLimit(request));
  std::vector<mvccpb::KeyValue> kvs;
  kvs.reserve(revisions.size());
  for (Revision r : revisions) {
    auto kv = fetch(r);
    if (!kv.ok()) return kv.status();
    kvs.push_back(std::move(kv).value());
  }
  return FinishRange(request, current_rev, total, std::move(kvs));
}

// Two phases so that a large range holds mu_ only for the index walk: under the lock we
// resolve revisions, copy any uncommitted records from the overlay and open the backend
// read transaction; the committed records are then read without the lock.
Result<RangeResponse> Store::Range(const RangeRequest& request) const {
  std::vector<Revision> revisions;
  std::vector<std::optional<std::string>> uncommitted;
  int64_t current_rev = 0, total = 0;
  std::optional<backend::ReadTxn> txn;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!broken_.ok()) return broken_;
    current_rev = current_rev_;
    auto rev = ReadRevision(request.revision, current_rev, compact_rev_);
    if (!rev.ok()) return rev.status();
    const KeyRange range = KeyRange::From(request.key, request.range_end);
    if (request.count_only) {
      return FinishRange(request, current_rev, index_.CountRevisions(range, *rev), {});
    }
    std::tie(revisions, total) = index_.Revisions(range, *rev, IndexLimit(request));
    uncommitted.resize(revisions.size());
    for (size_t i = 0; i < revisions.size(); ++i) {
      if (revisions[i].main <= committed_rev_) continue;
      auto it = overlay_.find(revisions[i]);
      ETCPP_ASSERT_MSG(it != overlay_.end(), "uncommitted revision missing from overlay");
      uncommitted[i] = it->second;
    }
    auto begun = backend_->Read();
    if (!begun.ok()) return begun.status();
    txn.emplace(std::move(begun).value());
  }
  std::vector<mvccpb::KeyValue> kvs;
  kvs.reserve(revisions.size());
  for (size_t i = 0; i < revisions.size(); ++i) {
    std::string_view bytes;
    if (uncommitted[i].has_value()) {
      bytes = *uncommitted[i];
    } else {
      auto got = txn->Get(backend::Bucket::kKey, BucketKey(revisions[i], false));
      if (!got.ok()) return got.status();
      if (!got->has_value()) {
        return Status(base::Code::kCorruption, "mvcc: indexed revision missing from the key bucket");
      }
      bytes = **got;
    }
    auto kv = ParseKeyValue(bytes, revisions[i]);
    if (!kv.ok()) return kv.status();
    kvs.push_back(std::move(kv).value());
  }
  return FinishRange(request, current_rev, total, std::move(kvs));
}

template <typename Response>
Result<Response> Store::Write(const std::function<Result<Response>(WriteTxn&)>& body) {
  Result<Response> response = Status(base::Code::kInternal, "unset");
  std::vector<mvccpb::Event> events;
  int64_t revision = 0;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (!broken_.ok()) return broken_;
    WriteTxn txn(this);
    response = body(txn);
    if (!response.ok()) {
      txn.Rollback();
      return response;
    }
    auto ended = txn.End();
    if (!ended.ok()) return ended.status();
    events = std::move(ended).value();
    revision = current_rev_;
  }
  if (!events.empty() && options_.on_write) options_.on_write(revision, std::move(events));
  return response;
}

// Txn (txn.cc) writes through the same path.
template Result<TxnResponse> Store::Write<TxnResponse>(
    const std::function<Result<TxnResponse>(WriteTxn&)>& body);

Result<PutResponse> Store::Put(const PutRequest& request) {
  return Write<PutResponse>([&](WriteTxn& txn) { return txn.Put(request); });
}

Result<DeleteRangeResponse> Store::DeleteRange(const DeleteRangeRequest& request) {
  return Write<DeleteRangeResponse>([&](WriteTxn& txn) { return txn.DeleteRange(request); });
}

}  // namespace etcpp::mvcc
