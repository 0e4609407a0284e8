// Store: etcd's MVCC key-value store (server/storage/mvcc's store plus the request
// semantics of etcdserver's apply.go) over a storage/backend Backend.
//
// Data: every change writes a record to the backend `key` bucket under its revision
// (revision.h), the KeyValue protobuf as value; a delete writes a tombstone record. The
// in-memory TreeIndex maps keys to the revisions that wrote them, so every read is an
// index walk plus point lookups by revision. On Open the index, the current revision
// and the compacted revision are rebuilt from the bucket (and meta).
//
// Threads and visibility:
//   - Writes (Put, DeleteRange, a Txn with writes, Compact, Hash, HashKV, Commit,
//     CommitIfDue) come from ONE thread, the backend's owner (the apply loop). They take
//     `mu_` exclusively while they change the index. A write that fails changes
//     nothing: a Txn whose request fails part-way is rolled back.
//   - Range and read-only Txn may run on any thread, concurrently with each other and
//     with the writer. They take `mu_` shared only to walk the index (a read-only Txn
//     keeps it for its whole run, so all its reads see one revision).
//   - The backend commits in batches; a backend read transaction sees only committed
//     batches. Revisions written since the last commit (main > committed_rev_) are
//     therefore also kept in `overlay_` (bucket value by revision) and readers take them
//     from there. A reader copies what it needs from the overlay and opens its backend
//     read transaction while holding `mu_`, so the two together always cover every
//     revision the index named. After a backend commit the post-commit hook takes `mu_`
//     exclusively, advances committed_rev_ and empties the overlay: a reader that
//     started before the commit holds an old snapshot but also had the overlay.
//   - The writer reads its own uncommitted state through the backend write transaction.
//
// Leases: the store records a key's lease id; checking that a lease exists and
// attaching/detaching keys belongs to the lessor (storage/lease, later).
//
// Backend write failures inside a write (map size limit, LMDB errors) would leave the
// index ahead of the backend, so they make the store refuse every later call with that
// Status ("broken"); the member must restart and replay the WAL. A failed *commit*
// (disk full) is not such a failure: the batch stays pending and Commit can be retried.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "base/status.h"
#include "mvccpb/kv.pb.h"
#include "storage/backend/backend.h"
#include "storage/mvcc/tree_index.h"
#include "storage/mvcc/types.h"

namespace etcpp::mvcc {

class TxnContext;
class WriteTxn;
class SnapshotTxn;

class Store {
 public:
  // Called on the writer thread after each write transaction that changed something,
  // outside the store's lock: the revision and its events, in change order. A PUT
  // event's prev_kv is the key before the transaction (absent for a creation), a DELETE
  // event's kv holds only key and mod_revision (etcd's event shapes). Must not call
  // back into the store's write functions.
  using WriteObserver = std::function<void(int64_t revision, std::vector<mvccpb::Event> events)>;
  struct Options {
    WriteObserver on_write;
  };

  // The backend must outlive the store. Rebuilds the index from the backend.
  static base::Result<std::unique_ptr<Store>> Open(backend::Backend* backend, Options options = {});
  ~Store();

  // --- any thread ---
  base::Result<RangeResponse> Range(const RangeRequest& request) const;
  int64_t Rev() const;
  int64_t CompactRev() const;  // -1 when never compacted, like etcd
  // The events of revisions [from, to], in revision order, for watchers catching up
  // (watch_history.cc): a PUT's kv as stored, a DELETE's kv with key and mod_revision;
  // no prev_kv. ErrCompacted when from < the compacted revision (etcd's watcher rule).
  base::Result<std::vector<mvccpb::Event>> History(int64_t from, int64_t to) const;

  // --- writer thread (read-only Txns: any thread) ---
  base::Result<PutResponse> Put(const PutRequest& request);
  base::Result<DeleteRangeResponse> DeleteRange(const DeleteRangeRequest& request);
  base::Result<TxnResponse> Txn(const TxnRequest& request);
  // Forgets history before `revision` (keeps what reads at `revision` need).
  base::Status Compact(int64_t revision);
  // etcd's Hash (Maintenance.Hash): commits, then hashes the whole backend except
  // meta's consistent_index and term (which differ between members). Returns the hash
  // in `hash` and the current revision in `revision`.
  base::Result<HashKVResponse> Hash();
  // etcd's HashKV: CRC-32C over the key bucket records up to `revision` (0: current).
  base::Result<HashKVResponse> HashKV(int64_t revision);
  // The owner drives commits: writes never commit on their own, so a failed commit
  // (disk full) is reported here and never mistaken for a failed write. Call
  // CommitIfDue after each applied entry and from the loop's timer.
  base::Status Commit() { return backend_->Commit(); }
  base::Status CommitIfDue(std::chrono::steady_clock::time_point now) {
    return backend_->CommitIfDue(now);
  }

  // Writer thread: replaces the backend's file with `path` (a snapshot from the leader)
  // and rebuilds everything from it. Readers wait for both, so none reads the new file
  // through the old index.
  base::Status ReplaceBackend(const std::string& path);

  size_t KeyCountForTesting() const;

 private:
  friend class WriteTxn;
  friend class SnapshotTxn;

  Store(backend::Backend* backend, Options options) : backend_(backend), options_(std::move(options)) {}
  // Requires mu_ held exclusively, or no other thread using the store yet.
  base::Status Restore();
  base::Status RestoreIndex(int64_t* last_main, int64_t* finished, int64_t* scheduled);
  void OnBackendCommit();
  // Shared by every range: the read revision checks, the index walk and the finishing
  // (range.h). `fetch` reads one record. Requires mu_ (shared or exclusive).
  base::Result<RangeResponse> RangeLocked(
      const RangeRequest& request, int64_t current_rev,
      const std::function<base::Result<mvccpb::KeyValue>(Revision)>& fetch) const;
  base::Status CompactLocked(int64_t revision);
  base::Result<TxnResponse> RunTxn(TxnContext& context, const TxnRequest& request, bool is_write);
  // Runs `body` in a write transaction and publishes its events.
  template <typename Response>
  base::Result<Response> Write(const std::function<base::Result<Response>(WriteTxn&)>& body);

  backend::Backend* const backend_;
  const Options options_;

  mutable std::shared_mutex mu_;
  TreeIndex index_;            // guarded by mu_
  int64_t current_rev_ = 1;    // guarded by mu_; a fresh store is at revision 1, as etcd
  int64_t compact_rev_ = -1;   // guarded by mu_
  int64_t committed_rev_ = 1;  // guarded by mu_; revisions <= it are in the backend's last commit
  absl::btree_map<Revision, std::string> overlay_;  // guarded by mu_; main > committed_rev_, tombstones too
  base::Status broken_;        // guarded by mu_
};

base::Result<mvccpb::KeyValue> ParseKeyValue(std::string_view bytes, Revision revision);

}  // namespace etcpp::mvcc
