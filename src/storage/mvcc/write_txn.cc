// WriteTxn and SnapshotTxn — see txn_context.h. The Put and DeleteRange semantics are
// etcd v3.5's (apply.go Put/DeleteRange over storeTxnWrite put/deleteRange).
#include "base/assert.h"
#include "storage/mvcc/txn_context.h"

namespace etcpp::mvcc {

using base::Result;
using base::Status;

Result<mvccpb::KeyValue> WriteTxn::Fetch(Revision revision) {
  auto bytes = store_->backend_->GetForWrite(backend::Bucket::kKey, BucketKey(revision, false));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) {
    return Status(base::Code::kCorruption, "mvcc: indexed revision missing from the key bucket");
  }
  return ParseKeyValue(**bytes, revision);
}

Result<RangeResponse> WriteTxn::Range(const RangeRequest& request) {
  return store_->RangeLocked(request, Rev(), [this](Revision r) { return Fetch(r); });
}

Status WriteTxn::WriteRecord(Revision revision, bool tombstone, const mvccpb::KeyValue& kv) {
  std::string bytes = kv.SerializeAsString();
  Status s = store_->backend_->Put(backend::Bucket::kKey, BucketKey(revision, tombstone), bytes);
  if (!s.ok()) {
    // Earlier changes of this txn are already in the index; see "broken" in store.h.
    store_->broken_ = s;
    return s;
  }
  // Tombstones too: watchers catching up read history by revision (Store::History).
  store_->overlay_.emplace(revision, std::move(bytes));
  return Status::Ok();
}

Status WriteTxn::PutKey(const std::string& key, const std::string& value, int64_t lease) {
  const int64_t rev = begin_rev_ + 1;
  int64_t created = rev;
  int64_t version = 1;
  // The index already holds this txn's earlier changes, so a second put of the same
  // key in one txn counts on from the first.
  if (auto found = store_->index_.Get(key, rev)) {
    created = found->created;
    version = found->version + 1;
  }
  const Revision revision{rev, static_cast<int64_t>(changes_.size())};
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_value(value);
  kv.set_create_revision(created);
  kv.set_mod_revision(rev);
  kv.set_version(version);
  kv.set_lease(lease);
  ETCPP_RETURN_IF_ERROR(WriteRecord(revision, false, kv));
  store_->index_.Put(key, revision);
  changes_.push_back(std::move(kv));
  return Status::Ok();
}

Status WriteTxn::DeleteKey(const std::string& key) {
  const Revision revision{begin_rev_ + 1, static_cast<int64_t>(changes_.size())};
  mvccpb::KeyValue kv;
  kv.set_key(key);
  ETCPP_RETURN_IF_ERROR(WriteRecord(revision, true, kv));
  ETCPP_ASSERT(store_->index_.Tombstone(key, revision));
  changes_.push_back(std::move(kv));
  return Status::Ok();
}

Result<PutResponse> WriteTxn::Put(const PutRequest& request) {
  PutResponse response;
  std::optional<mvccpb::KeyValue> prev;
  if (request.ignore_value || request.ignore_lease || request.prev_kv) {
    RangeRequest get;
    get.key = request.key;
    auto got = Range(get);
    if (!got.ok()) return got.status();
    if (!got->kvs.empty()) prev = std::move(got->kvs[0]);
  }
  if ((request.ignore_value || request.ignore_lease) && !prev.has_value()) return ErrKeyNotFound();
  const std::string& value = request.ignore_value ? prev->value() : request.value;
  const int64_t lease = request.ignore_lease ? prev->lease() : request.lease;
  ETCPP_RETURN_IF_ERROR(PutKey(request.key, value, lease));
  if (request.prev_kv) response.prev_kv = std::move(prev);
  response.revision = begin_rev_ + 1;
  return response;
}

Result<DeleteRangeResponse> WriteTxn::DeleteRange(const DeleteRangeRequest& request) {
  DeleteRangeResponse response;
  if (request.prev_kv) {
    RangeRequest get;
    get.key = request.key;
    get.range_end = request.range_end;
    auto got = Range(get);
    if (!got.ok()) return got.status();
    response.prev_kvs = std::move(got->kvs);
  }
  std::vector<std::string> keys =
      store_->index_.Keys(KeyRange::From(request.key, request.range_end), Rev());
  for (const std::string& key : keys) ETCPP_RETURN_IF_ERROR(DeleteKey(key));
  response.deleted = static_cast<int64_t>(keys.size());
  // etcd: a delete that removed nothing reports the unchanged revision, unless the txn
  // already changed something.
  response.revision = Rev();
  return response;
}

Result<std::vector<mvccpb::Event>> WriteTxn::End() {
  std::vector<mvccpb::Event> events;
  if (changes_.empty()) return events;
  const int64_t rev = begin_rev_ + 1;
  events.reserve(changes_.size());
  for (mvccpb::KeyValue& kv : changes_) {
    mvccpb::Event& event = events.emplace_back();
    // A tombstone record has no create revision: that is how etcd tells the kinds apart.
    const bool is_delete = kv.create_revision() == 0;
    event.set_type(is_delete ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
    if (is_delete) kv.set_mod_revision(rev);
    const bool is_create = !is_delete && kv.version() == 1;
    if (!is_create) {
      // etcd's watch fills prev_kv from the key at mod_revision - 1: before this txn.
      if (auto found = store_->index_.Get(kv.key(), begin_rev_)) {
        auto prev = Fetch(found->modified);
        if (!prev.ok()) return prev.status();
        *event.mutable_prev_kv() = std::move(prev).value();
      }
    }
    *event.mutable_kv() = std::move(kv);
  }
  store_->current_rev_ = rev;
  return events;
}

// The only request error that can strike after a txn changed something is a put with
// ignore_value/ignore_lease on a key the same txn deleted: etcd's API layer rejects
// most such txns ("duplicate key given in txn request") and etcd's apply panics on the
// rest (a delete range ending in "\0" escapes that check). We undo the txn instead.
void WriteTxn::Rollback() {
  for (size_t i = changes_.size(); i-- > 0;) {
    const Revision revision{begin_rev_ + 1, static_cast<int64_t>(i)};
    const bool tombstone = changes_[i].create_revision() == 0;
    store_->index_.Unwind(changes_[i].key(), revision);
    store_->overlay_.erase(revision);
    Status s = store_->backend_->Delete(backend::Bucket::kKey, BucketKey(revision, tombstone));
    if (!s.ok()) store_->broken_ = s;
  }
  changes_.clear();
}

Result<std::unique_ptr<SnapshotTxn>> SnapshotTxn::Begin(const Store* store) {
  std::shared_lock<std::shared_mutex> lock(store->mu_);
  if (!store->broken_.ok()) return store->broken_;
  auto txn = store->backend_->Read();
  if (!txn.ok()) return txn.status();
  return std::unique_ptr<SnapshotTxn>(new SnapshotTxn(store, std::move(lock), std::move(txn).value()));
}

Result<RangeResponse> SnapshotTxn::Range(const RangeRequest& request) {
  return store_->RangeLocked(request, Rev(), [this](Revision r) -> Result<mvccpb::KeyValue> {
    if (r.main > store_->committed_rev_) {
      auto it = store_->overlay_.find(r);
      ETCPP_ASSERT_MSG(it != store_->overlay_.end(), "uncommitted revision missing from overlay");
      return ParseKeyValue(it->second, r);
    }
    auto bytes = txn_.Get(backend::Bucket::kKey, BucketKey(r, false));
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) {
      return Status(base::Code::kCorruption, "mvcc: indexed revision missing from the key bucket");
    }
    return ParseKeyValue(**bytes, r);
  });
}

Result<PutResponse> SnapshotTxn::Put(const PutRequest&) {
  ETCPP_ASSERT_MSG(false, "put in a read-only txn");
}

Result<DeleteRangeResponse> SnapshotTxn::DeleteRange(const DeleteRangeRequest&) {
  ETCPP_ASSERT_MSG(false, "delete in a read-only txn");
}

}  // namespace etcpp::mvcc
