// Backend: LMDB environment, batched write transaction, sizes, quota, defragmentation.
// Contract and threading rules in backend.h.
#include "storage/backend/backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/crc32c.h"
#include "storage/backend/scan.h"

namespace etcpp::backend {

using base::Code;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kConsistentIndexKey = "consistent_index";

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

std::string EncodeUint64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t DecodeUint64(std::string_view s) {
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

Status ErrnoStatus(std::string_view what) {
  return Status(Code::kIoError, "backend: " + std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

const char* BucketName(Bucket bucket) {
  static constexpr const char* kNames[kBucketCount] = {
      "key", "meta", "lease", "auth", "authUsers", "authRoles", "members", "alarm"};
  return kNames[static_cast<int>(bucket)];
}

Status LmdbStatus(int rc, std::string_view what) {
  ETCPP_ASSERT(rc != 0);
  Code code = Code::kInternal;
  switch (rc) {
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
      code = Code::kResourceExhausted;
      break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      code = Code::kCorruption;
      break;
    case ENOSPC:
    case EFBIG:
    case EIO:
    case EDQUOT:
    case EACCES:
    case ENOENT:
      code = Code::kIoError;
      break;
    default:
      break;
  }
  return Status(code, "backend: " + std::string(what) + ": " + mdb_strerror(rc));
}

Status Config::Validate() {
  if (dir.empty()) return Status(Code::kInvalidArgument, "backend: dir is empty");
  if (quota_bytes == 0) quota_bytes = kDefaultQuotaBytes;
  if (batch_interval_ms <= 0 || batch_ops_max <= 0 || readers_max <= 0 ||
      map_size_initial_bytes < (1 << 20) || map_size_max_bytes < map_size_initial_bytes) {
    return Status(Code::kInvalidArgument, "backend: invalid batch, reader or map size limits");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Backend>> Backend::Open(Config config) {
  ETCPP_RETURN_IF_ERROR(config.Validate());
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec) return Status(Code::kIoError, "backend: create " + config.dir + ": " + ec.message());
  std::unique_ptr<Backend> backend(new Backend(std::move(config)));
  backend->map_size_bytes_ = backend->config_.map_size_initial_bytes;
  ETCPP_RETURN_IF_ERROR(backend->OpenEnv());
  return backend;
}

Status Backend::OpenEnv() {
  ETCPP_ASSERT(env_ == nullptr);
  int rc = mdb_env_create(&env_);
  if (rc != 0) return LmdbStatus(rc, "env create");
  mdb_env_set_maxdbs(env_, kBucketCount);
  mdb_env_set_maxreaders(env_, static_cast<unsigned>(config_.readers_max));
  mdb_env_set_mapsize(env_, static_cast<size_t>(map_size_bytes_));
  // MDB_NOTLS: read transactions belong to ReadTxn objects, not threads, so a reader
  // may be handed between threads and one thread may hold several.
  rc = mdb_env_open(env_, config_.dir.c_str(), MDB_NOTLS, 0644);
  if (rc != 0) {
    mdb_env_close(env_);
    env_ = nullptr;
    return LmdbStatus(rc, "open " + config_.dir);
  }
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  // An existing file may have been grown beyond our initial size; LMDB adopts that.
  map_size_bytes_ = static_cast<int64_t>(info.me_mapsize);

  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbStatus(rc, "begin");
  for (int i = 0; i < kBucketCount; ++i) {
    rc = mdb_dbi_open(txn, BucketName(static_cast<Bucket>(i)), MDB_CREATE, &dbis_[i]);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbStatus(rc, "open bucket");
    }
  }
  MDB_val k = ToVal(kConsistentIndexKey), v{};
  rc = mdb_get(txn, dbi(Bucket::kMeta), &k, &v);
  if (rc == 0) {
    if (v.mv_size != 8) {
      mdb_txn_abort(txn);
      return Status(Code::kCorruption, "backend: consistent_index is not 8 bytes");
    }
    consistent_index_ = DecodeUint64(std::string_view(static_cast<char*>(v.mv_data), 8));
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbStatus(rc, "commit bucket creation");
  NoteFileSize();
  return Status::Ok();
}

void Backend::CloseEnv() {
  if (write_txn_ != nullptr) mdb_txn_abort(write_txn_);
  write_txn_ = nullptr;
  if (env_ != nullptr) mdb_env_close(env_);
  env_ = nullptr;
}

Backend::~Backend() {
  if (!pending_.empty()) {
    Status s = Commit();
    if (!s.ok()) std::fprintf(stderr, "etcpp backend: final commit failed: %s\n", s.ToString().c_str());
  }
  CloseEnv();
}

void Backend::CheckOwner() {
  if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
  ETCPP_ASSERT_MSG(owner_ == std::this_thread::get_id(),
                   "backend write calls must come from the owner thread");
}

Result<ReadTxn> Backend::Read() const {
  std::shared_lock<std::shared_mutex> lock(remap_mu_);
  if (env_ == nullptr) return Status(Code::kUnavailable, "backend: closed after a failed swap");
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return LmdbStatus(rc, "begin read");
  return ReadTxn(this, txn, std::move(lock));
}

int64_t Backend::map_size_bytes() const {
  std::shared_lock<std::shared_mutex> lock(remap_mu_);
  return map_size_bytes_;
}

int64_t Backend::SizeBytes() const { return file_size_.load(); }

// The file grows only when a write transaction commits, so its size is taken then and
// read from memory by the quota check that every write makes (a stat() per write was a
// few per cent of the server's CPU).
void Backend::NoteFileSize() {
  mdb_filehandle_t fd;
  struct stat st;
  if (mdb_env_get_fd(env_, &fd) == 0 && ::fstat(fd, &st) == 0) file_size_ = static_cast<int64_t>(st.st_size);
}

Result<int64_t> Backend::SizeInUseBytes() const {
  Result<ReadTxn> txn = Read();
  if (!txn.ok()) return txn.status();
  MDB_envinfo info;
  MDB_stat stat;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  // LMDB's free list is database 0: each value is a page-number list whose first word
  // is its length (as LMDB's own mdb_stat -f counts it).
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn->txn_, 0, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open free list");
  MDB_val k{}, v{};
  int64_t free_pages = 0;
  while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) == 0) {
    free_pages += static_cast<int64_t>(*static_cast<const size_t*>(v.mv_data));
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return LmdbStatus(rc, "walk free list");
  int64_t pages = static_cast<int64_t>(info.me_last_pgno) + 1;
  return (pages - free_pages) * static_cast<int64_t>(stat.ms_psize);
}

Result<uint32_t> Backend::Hash(const std::function<bool(Bucket, std::string_view)>& ignore) const {
  std::array<Bucket, kBucketCount> order;
  for (int i = 0; i < kBucketCount; ++i) order[i] = static_cast<Bucket>(i);
  std::sort(order.begin(), order.end(), [](Bucket a, Bucket b) {
    return std::string_view(BucketName(a)) < std::string_view(BucketName(b));
  });
  Result<ReadTxn> txn = Read();
  if (!txn.ok()) return txn.status();
  uint32_t hash = 0;
  for (Bucket bucket : order) {
    hash = base::crc32c::Extend(hash, BucketName(bucket));
    Status walked = txn->ForEach(bucket, "", "", [&](std::string_view k, std::string_view v) {
      if (!ignore(bucket, k)) hash = base::crc32c::Extend(base::crc32c::Extend(hash, k), v);
      return true;
    });
    ETCPP_RETURN_IF_ERROR(walked);
  }
  return hash;
}

Status Backend::CheckQuota(int64_t cost_bytes) const {
  if (config_.quota_bytes < 0) return Status::Ok();
  if (SizeBytes() + cost_bytes > config_.quota_bytes) {
    return Status(Code::kResourceExhausted, "mvcc: database space exceeded");
  }
  return Status::Ok();
}

// Begins the batch transaction if there is none, replaying the redo copy of the batch
// when a previous transaction was aborted (map growth, failed commit).
Status Backend::EnsureWriteTxn() {
  while (write_txn_ == nullptr) {
    if (env_ == nullptr) return Status(Code::kUnavailable, "backend: closed after a failed swap");
    int rc = mdb_txn_begin(env_, nullptr, 0, &write_txn_);
    if (rc != 0) {
      write_txn_ = nullptr;
      return LmdbStatus(rc, "begin write");
    }
    Status replayed;
    for (const PendingOp& op : pending_) {
      replayed = ApplyOp(op);
      if (!replayed.ok()) break;
    }
    if (replayed.ok()) return Status::Ok();
    mdb_txn_abort(write_txn_);
    write_txn_ = nullptr;
    if (replayed.code() != Code::kResourceExhausted) return replayed;
    ETCPP_RETURN_IF_ERROR(GrowMap());
  }
  return Status::Ok();
}

Status Backend::ApplyOp(const PendingOp& op) {
  MDB_val k = ToVal(op.key);
  if (op.value.has_value()) {
    MDB_val v = ToVal(*op.value);
    int rc = mdb_put(write_txn_, dbi(op.bucket), &k, &v, 0);
    return rc == 0 ? Status::Ok() : LmdbStatus(rc, "put");
  }
  int rc = mdb_del(write_txn_, dbi(op.bucket), &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbStatus(rc, "delete");
}

Status Backend::ApplyOrGrow(PendingOp op) {
  CheckOwner();
  while (true) {
    ETCPP_RETURN_IF_ERROR(EnsureWriteTxn());
    Status s = ApplyOp(op);
    if (s.ok()) break;
    // After any failed put LMDB requires the transaction to be aborted; the batch
    // survives in pending_ and is replayed by EnsureWriteTxn.
    mdb_txn_abort(write_txn_);
    write_txn_ = nullptr;
    if (s.code() != Code::kResourceExhausted) return s;
    ETCPP_RETURN_IF_ERROR(GrowMap());
  }
  pending_.push_back(std::move(op));
  return Status::Ok();
}

// Doubles the map. mdb_env_set_mapsize remaps the file, so no read transaction may be
// open: we take remap_mu_ exclusively, which waits for current readers.
Status Backend::GrowMap() {
  ETCPP_ASSERT(write_txn_ == nullptr);
  std::unique_lock<std::shared_mutex> lock(remap_mu_);
  if (map_size_bytes_ >= config_.map_size_max_bytes) {
    return Status(Code::kResourceExhausted, "backend: map size limit reached (" +
                                                std::to_string(config_.map_size_max_bytes) +
                                                " bytes)");
  }
  int64_t grown = std::min(map_size_bytes_ * 2, config_.map_size_max_bytes);
  int rc = mdb_env_set_mapsize(env_, static_cast<size_t>(grown));
  if (rc != 0) return LmdbStatus(rc, "grow map");
  map_size_bytes_ = grown;
  return Status::Ok();
}

Status Backend::Put(Bucket bucket, std::string_view key, std::string_view value) {
  return ApplyOrGrow(PendingOp{bucket, std::string(key), std::string(value)});
}

Status Backend::Delete(Bucket bucket, std::string_view key) {
  return ApplyOrGrow(PendingOp{bucket, std::string(key), std::nullopt});
}

Result<std::optional<std::string>> Backend::GetForWrite(Bucket bucket, std::string_view key) {
  CheckOwner();
  ETCPP_RETURN_IF_ERROR(EnsureWriteTxn());
  MDB_val k = ToVal(key), v{};
  int rc = mdb_get(write_txn_, dbi(bucket), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbStatus(rc, "get");
  return std::optional<std::string>(std::string(static_cast<char*>(v.mv_data), v.mv_size));
}

Status Backend::ForEachForWrite(Bucket bucket, std::string_view from, std::string_view to,
                                const std::function<bool(std::string_view, std::string_view)>& fn) {
  CheckOwner();
  ETCPP_RETURN_IF_ERROR(EnsureWriteTxn());
  return Scan(write_txn_, dbi(bucket), from, to, fn);
}

Status Backend::SetConsistentIndex(uint64_t index) {
  ETCPP_RETURN_IF_ERROR(Put(Bucket::kMeta, kConsistentIndexKey, EncodeUint64(index)));
  consistent_index_ = index;
  return Status::Ok();
}

Status Backend::Commit() {
  CheckOwner();
  if (pending_.empty()) {
    if (write_txn_ != nullptr) mdb_txn_abort(write_txn_);  // only reads happened
    write_txn_ = nullptr;
    return Status::Ok();
  }
  while (true) {
    ETCPP_RETURN_IF_ERROR(EnsureWriteTxn());
    int rc = mdb_txn_commit(write_txn_);
    write_txn_ = nullptr;  // LMDB frees the transaction whether or not commit succeeded
    if (rc == 0) break;
    // Saving the free list can itself need pages; grow and replay like a put would.
    if (rc == MDB_MAP_FULL) {
      ETCPP_RETURN_IF_ERROR(GrowMap());
      continue;
    }
    // Disk full or I/O error: the file still holds the previous commit (LMDB writes
    // the meta page last), and pending_ keeps this batch for the next attempt.
    return LmdbStatus(rc, "commit");
  }
  pending_.clear();
  last_commit_ = std::chrono::steady_clock::now();
  NoteFileSize();
  if (post_commit_hook_) post_commit_hook_();
  return Status::Ok();
}

Status Backend::CommitIfDue(std::chrono::steady_clock::time_point now) {
  if (pending_.empty()) return Status::Ok();
  bool due = PendingOps() >= config_.batch_ops_max ||
             now - last_commit_ >= std::chrono::milliseconds(config_.batch_interval_ms);
  return due ? Commit() : Status::Ok();
}

Result<int64_t> Backend::Defragment() {
  ETCPP_RETURN_IF_ERROR(Commit());
  int64_t before = SizeBytes();
  // The copy runs in LMDB's own read transaction: readers carry on, and no write can
  // slip in because writes come only from this (the owner) thread.
  std::string tmp = DataPath() + ".defrag";
  int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open " + tmp);
  int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
  // fsync before the rename so a crash cannot leave a renamed but empty file.
  bool synced = rc == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (rc != 0 || !synced) {
    ::unlink(tmp.c_str());
    return rc != 0 ? LmdbStatus(rc, "compacting copy") : ErrnoStatus("fsync " + tmp);
  }
  {
    std::unique_lock<std::shared_mutex> lock(remap_mu_);  // waits for open readers
    CloseEnv();
    if (::rename(tmp.c_str(), DataPath().c_str()) != 0) {
      Status renamed = ErrnoStatus("rename " + tmp);
      Status reopened = OpenEnv();  // the old file is still in place
      return reopened.ok() ? renamed : reopened;
    }
    int dir_fd = ::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);  // make the rename durable
      ::close(dir_fd);
    }
    ETCPP_RETURN_IF_ERROR(OpenEnv());
  }
  return before - SizeBytes();
}

Status Backend::CopyTo(int fd) const {
  // Shared: a defragment must not close the environment under the copy's read txn.
  std::shared_lock<std::shared_mutex> lock(remap_mu_);
  int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "copy");
}

Status Backend::CopyTo(const std::string& path) const {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open " + path);
  Status copied = CopyTo(fd);
  bool synced = copied.ok() && ::fsync(fd) == 0;
  ::close(fd);
  if (!copied.ok() || !synced) {
    ::unlink(path.c_str());
    return !copied.ok() ? copied : ErrnoStatus("fsync " + path);
  }
  return Status::Ok();
}

Status Backend::ReplaceWith(const std::string& path) {
  CheckOwner();
  pending_.clear();
  std::unique_lock<std::shared_mutex> lock(remap_mu_);  // waits for open readers
  CloseEnv();
  if (::rename(path.c_str(), DataPath().c_str()) != 0) {
    Status renamed = ErrnoStatus("rename " + path);
    Status reopened = OpenEnv();
    return reopened.ok() ? renamed : reopened;
  }
  int dir_fd = ::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  // The file may be from a larger map than ours; OpenEnv adopts its size.
  consistent_index_ = 0;
  return OpenEnv();
}

}  // namespace etcpp::backend
