// Backend: etcpp's persistent store, one LMDB environment in a directory (data file
// `data.mdb`, plus LMDB's `lock.mdb` reader table), holding etcd's buckets as LMDB
// named databases.
//
// Writes go into ONE batched write transaction that stays open across many calls and is
// committed every `batch_interval_ms` or every `batch_ops_max` operations, whichever comes
// first (etcd's batchTx). The raft log is the durable record of acknowledged writes; the
// backend only has to be a consistent prefix of it, which is why `consistent_index` is
// written into `meta` in the same transaction as the data it covers.
//
// Threads:
//   - One writer thread owns the backend (in the server: the apply loop). Put, Delete,
//     GetForWrite, ForEachForWrite, SetConsistentIndex, Commit, CommitIfDue and
//     Defragment must all be called from it: an LMDB write transaction is tied to the
//     thread that began it. The first write call records the owner; any other thread
//     trips an assertion. There is no committer thread: the owner calls CommitIfDue()
//     from its loop (and after writes), which keeps the clock at the edge.
//   - Any thread may call Read() and use the ReadTxn it gets (MDB_NOTLS), and the size,
//     quota and hash functions. Readers never block the writer nor each other: LMDB
//     readers see the last committed state and take no lock that a writer waits on.
//     (Exception: growing the map waits for open ReadTxns, see below — so the owner
//     thread must not hold a ReadTxn across one of its own write calls.)
//   - A read transaction sees only what was committed before it began; uncommitted
//     writes of the current batch are visible through GetForWrite only. (storage/mvcc
//     keeps its own overlay of uncommitted revisions for other threads.)
//   - Growing the map and swapping in a defragmented file remap the file, which would
//     pull the memory from under live readers; both wait for open ReadTxns to finish
//     (`remap_mu_`, shared by every ReadTxn) and block new ones only for the remap.
//
// Errors: every LMDB failure becomes a Status. MDB_MAP_FULL is handled here: the write
// transaction is aborted, the map doubled (up to map_size_max_bytes) and the batch
// replayed from `pending_` (a redo copy of the uncommitted operations). A failed commit
// (disk full: ENOSPC, EFBIG) returns kIoError and keeps the batch pending, so a later
// Commit can succeed once space is freed.
#pragma once

#include <lmdb.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"

namespace etcpp::backend {

// etcd's buckets. The names are the LMDB database names.
enum class Bucket : int { kKey, kMeta, kLease, kAuth, kAuthUsers, kAuthRoles, kMembers, kAlarm };
inline constexpr int kBucketCount = 8;
const char* BucketName(Bucket bucket);

struct Config {
  std::string dir;                           // created if missing
  int64_t batch_interval_ms = 100;           // commit at least this often while writing
  int64_t batch_ops_max = 10000;             // or after this many operations
  int64_t map_size_initial_bytes = 64 << 20;  // LMDB map; grows by doubling
  int64_t map_size_max_bytes = int64_t{1} << 40;
  // etcd's --quota-backend-bytes: 0 means etcd's default (2 GiB), negative means none.
  int64_t quota_bytes = 0;
  int readers_max = 1024;  // concurrent read transactions (LMDB reader slots)

  // Fills defaults and checks ranges (one place, CONVENTIONS.md).
  base::Status Validate();
};

inline constexpr int64_t kDefaultQuotaBytes = int64_t{2} << 30;

class Backend;

// A read-only view of the last committed state. Any thread; short-lived (a long-lived
// reader pins old pages, so the file grows). Not copyable; movable.
class ReadTxn {
 public:
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&&) = delete;
  ReadTxn(const ReadTxn&) = delete;
  ~ReadTxn();

  // The value, or nullopt when absent. The view is valid until this ReadTxn ends.
  base::Result<std::optional<std::string_view>> Get(Bucket bucket, std::string_view key) const;

  // Calls fn(key, value) for keys in [from, to) in byte order (to empty: no upper
  // bound) until fn returns false.
  base::Status ForEach(Bucket bucket, std::string_view from, std::string_view to,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const;

 private:
  friend class Backend;
  ReadTxn(const Backend* backend, MDB_txn* txn, std::shared_lock<std::shared_mutex> remap_lock);

  const Backend* backend_;
  MDB_txn* txn_;
  std::shared_lock<std::shared_mutex> remap_lock_;
};

class Backend {
 public:
  // Opens (creating if needed) the environment in config.dir.
  static base::Result<std::unique_ptr<Backend>> Open(Config config);
  // Commits the pending batch (errors are logged to stderr: nothing else can be done
  // with them in a destructor; call Commit() first to see them).
  ~Backend();

  // --- reads, any thread ---
  base::Result<ReadTxn> Read() const;
  // Size of the data file on disk, and the part of it not on LMDB's free list. Both
  // reflect the last commit.
  int64_t SizeBytes() const;
  base::Result<int64_t> SizeInUseBytes() const;
  // kResourceExhausted "mvcc: database space exceeded" (etcd's ErrNoSpace) when writing
  // `cost_bytes` more would take the file over the quota.
  base::Status CheckQuota(int64_t cost_bytes) const;
  int64_t quota_bytes() const { return config_.quota_bytes; }
  // etcd's backend Hash (Maintenance.Hash): CRC-32C over every bucket in name order
  // (bbolt's order) — its name, then each key and value in key order — skipping the
  // records `ignore(bucket, key)` names. Covers the last commit only.
  base::Result<uint32_t> Hash(const std::function<bool(Bucket, std::string_view)>& ignore) const;
  int64_t map_size_bytes() const;

  // --- writes, owner thread only ---
  base::Status Put(Bucket bucket, std::string_view key, std::string_view value);
  base::Status Delete(Bucket bucket, std::string_view key);  // absent key: OK
  // Reads through the write transaction, so the current batch is visible.
  base::Result<std::optional<std::string>> GetForWrite(Bucket bucket, std::string_view key);
  base::Status ForEachForWrite(Bucket bucket, std::string_view from, std::string_view to,
                               const std::function<bool(std::string_view, std::string_view)>& fn);

  // The raft index of the last applied entry, in `meta` (8 bytes big-endian, like etcd).
  base::Status SetConsistentIndex(uint64_t index);
  uint64_t ConsistentIndex() const { return consistent_index_; }

  base::Status Commit();
  // Commits when the batch is due: batch_ops_max operations pending, or
  // batch_interval_ms elapsed since the last commit with something pending.
  base::Status CommitIfDue(std::chrono::steady_clock::time_point now);
  int64_t PendingOps() const { return static_cast<int64_t>(pending_.size()); }
  // Called on the owner thread after every successful commit (storage/mvcc drops its
  // overlay of uncommitted revisions here). Must not call back into write functions.
  void SetPostCommitHook(std::function<void()> hook) { post_commit_hook_ = std::move(hook); }

  // Commits, writes a compacted copy of the committed state next to the data file while
  // readers carry on, then swaps it in (readers wait only for the swap). Returns the
  // size reclaimed in bytes.
  base::Result<int64_t> Defragment();

  // Any thread: writes a compacted copy of the committed state to `fd` (a backup, as
  // etcd's Maintenance.Snapshot sends). A file LMDB can open as data.mdb.
  base::Status CopyTo(int fd) const;
  // The same into a new file at `path`, fsynced (what a leader sends a follower that
  // needs a snapshot).
  base::Status CopyTo(const std::string& path) const;
  // Owner: drops the uncommitted batch and makes the file at `path` (moved, not copied)
  // the backend's data, e.g. a snapshot received from the leader. Readers wait only for
  // the swap.
  base::Status ReplaceWith(const std::string& path);

  const std::string& dir() const { return config_.dir; }

 private:
  friend class ReadTxn;
  struct PendingOp {
    Bucket bucket;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };

  explicit Backend(Config config) : config_(std::move(config)) {}
  base::Status OpenEnv() /* requires remap_mu_ exclusive or no readers yet */;
  void NoteFileSize();
  void CloseEnv();
  void CheckOwner();
  base::Status EnsureWriteTxn();
  base::Status ApplyOp(const PendingOp& op);
  base::Status ApplyOrGrow(PendingOp op);
  base::Status GrowMap();
  MDB_dbi dbi(Bucket bucket) const { return dbis_[static_cast<int>(bucket)]; }
  std::string DataPath() const { return config_.dir + "/data.mdb"; }

  Config config_;
  MDB_env* env_ = nullptr;
  std::array<MDB_dbi, kBucketCount> dbis_{};
  int64_t map_size_bytes_ = 0;
  std::atomic<int64_t> file_size_{0};  // after the last commit or open (any thread reads it)
  // Shared by every ReadTxn; exclusive while the map is remapped (grow, defragment).
  mutable std::shared_mutex remap_mu_;

  // Owner-thread state.
  std::thread::id owner_;
  MDB_txn* write_txn_ = nullptr;
  std::vector<PendingOp> pending_;  // every operation in write_txn_, for MAP_FULL replay
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
  uint64_t consistent_index_ = 0;
  std::function<void()> post_commit_hook_;
};

// LMDB result code → Status ("backend: <what>: <mdb_strerror>").
base::Status LmdbStatus(int rc, std::string_view what);

}  // namespace etcpp::backend
