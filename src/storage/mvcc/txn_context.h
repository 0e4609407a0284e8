// Internal to storage/mvcc: the two views a request runs in (etcd's TxnRead/TxnWrite).
//   WriteTxn    — the writer's transaction, under Store::mu_ exclusively: one main
//                 revision (begin + 1) for all its changes, sub revisions 0, 1, ...; its
//                 reads see its own earlier changes (etcd's storeTxnWrite).
//   SnapshotTxn — a read-only view under Store::mu_ shared, on any thread.
#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "storage/mvcc/store.h"

namespace etcpp::mvcc {

class TxnContext {
 public:
  virtual ~TxnContext() = default;
  // The revision reads see by default (etcd's TxnRead.Rev; a write txn with changes
  // reads at begin + 1).
  virtual int64_t Rev() const = 0;
  virtual int64_t FirstRev() const = 0;  // the compacted revision
  virtual base::Result<RangeResponse> Range(const RangeRequest& request) = 0;
  virtual base::Result<PutResponse> Put(const PutRequest& request) = 0;
  virtual base::Result<DeleteRangeResponse> DeleteRange(const DeleteRangeRequest& request) = 0;
};

class WriteTxn final : public TxnContext {
 public:
  // The caller holds store->mu_ exclusively for the txn's whole life.
  explicit WriteTxn(Store* store) : store_(store), begin_rev_(store->current_rev_) {}

  int64_t Rev() const override { return begin_rev_ + (changes_.empty() ? 0 : 1); }
  int64_t FirstRev() const override { return store_->compact_rev_; }
  base::Result<RangeResponse> Range(const RangeRequest& request) override;
  base::Result<PutResponse> Put(const PutRequest& request) override;
  base::Result<DeleteRangeResponse> DeleteRange(const DeleteRangeRequest& request) override;

  // Publishes the revision (if anything changed) and returns the events to hand to the
  // observer once the lock is released.
  base::Result<std::vector<mvccpb::Event>> End();
  // Undoes every change of a txn that failed part-way, so that a txn is all or nothing.
  void Rollback();

 private:
  base::Result<mvccpb::KeyValue> Fetch(Revision revision);
  base::Status PutKey(const std::string& key, const std::string& value, int64_t lease);
  base::Status DeleteKey(const std::string& key);
  base::Status WriteRecord(Revision revision, bool tombstone, const mvccpb::KeyValue& kv);

  Store* const store_;
  const int64_t begin_rev_;
  std::vector<mvccpb::KeyValue> changes_;  // a delete is a KeyValue with only the key
};

class SnapshotTxn final : public TxnContext {
 public:
  static base::Result<std::unique_ptr<SnapshotTxn>> Begin(const Store* store);

  int64_t Rev() const override { return store_->current_rev_; }
  int64_t FirstRev() const override { return store_->compact_rev_; }
  base::Result<RangeResponse> Range(const RangeRequest& request) override;
  // A read-only txn has only ranges (Store::Txn checks); reaching these is a bug.
  base::Result<PutResponse> Put(const PutRequest& request) override;
  base::Result<DeleteRangeResponse> DeleteRange(const DeleteRangeRequest& request) override;

 private:
  SnapshotTxn(const Store* store, std::shared_lock<std::shared_mutex> lock, backend::ReadTxn txn)
      : store_(store), lock_(std::move(lock)), txn_(std::move(txn)) {}

  const Store* const store_;
  std::shared_lock<std::shared_mutex> lock_;
  backend::ReadTxn txn_;
};

}  // namespace etcpp::mvcc
