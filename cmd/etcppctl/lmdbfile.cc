#include "lmdbfile.h"

#include <lmdb.h>

#include <cstring>
#include <memory>

namespace etcpp::ctl {
namespace {

using base::Code;
using base::Status;

constexpr size_t kMagicOffset = 16;
constexpr uint32_t kBoltMagic = 0xED0CDAED;
constexpr uint32_t kLmdbMagic = 0xBEEFC0DE;

std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

Status Lmdb(int rc, const std::string& what) {
  return Status(Code::kCorruption, what + ": " + mdb_strerror(rc));
}

// Calls fn for every pair of `dbi`, in key order.
Status ForEach(MDB_txn* txn, MDB_dbi dbi, const std::function<Status(std::string_view, std::string_view)>& fn) {
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &raw); rc != 0) return Lmdb(rc, "cursor");
  std::unique_ptr<MDB_cursor, decltype(&mdb_cursor_close)> cursor(raw, mdb_cursor_close);
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(raw, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
    ETCPP_RETURN_IF_ERROR(fn(View(key), View(value)));
  }
  return rc == MDB_NOTFOUND ? Status::Ok() : Lmdb(rc, "cursor");
}

}  // namespace

SnapshotFormat DetectSnapshotFormat(std::string_view file_start) {
  if (file_start.size() < kMagicOffset + 4) return SnapshotFormat::kUnknown;
  uint32_t magic = 0;
  std::memcpy(&magic, file_start.data() + kMagicOffset, sizeof magic);  // both little-endian
  if (magic == kBoltMagic) return SnapshotFormat::kBolt;
  if (magic == kLmdbMagic) return SnapshotFormat::kLmdb;
  return SnapshotFormat::kUnknown;
}

base::Result<BoltInfo> WalkLmdbFile(const std::string& path, const BoltVisitor& visitor) {
  MDB_env* raw_env = nullptr;
  if (int rc = mdb_env_create(&raw_env); rc != 0) return Lmdb(rc, "open " + path);
  std::unique_ptr<MDB_env, decltype(&mdb_env_close)> env(raw_env, mdb_env_close);
  mdb_env_set_maxdbs(raw_env, 64);
  // MDB_NOLOCK: a snapshot file has no reader table beside it, and nothing else opens it.
  if (int rc = mdb_env_open(raw_env, path.c_str(), MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0); rc != 0)
    return Lmdb(rc, "open " + path);
  MDB_txn* raw_txn = nullptr;
  if (int rc = mdb_txn_begin(raw_env, nullptr, MDB_RDONLY, &raw_txn); rc != 0) return Lmdb(rc, "read " + path);
  std::unique_ptr<MDB_txn, decltype(&mdb_txn_abort)> txn(raw_txn, mdb_txn_abort);
  MDB_dbi names = 0;
  if (int rc = mdb_dbi_open(raw_txn, nullptr, 0, &names); rc != 0) return Lmdb(rc, "read " + path);
  // The main database lists the named ones by name, in byte order: bbolt's bucket order.
  ETCPP_RETURN_IF_ERROR(ForEach(raw_txn, names, [&](std::string_view name, std::string_view) {
    MDB_dbi dbi = 0;
    const std::string bucket(name);
    if (int rc = mdb_dbi_open(raw_txn, bucket.c_str(), 0, &dbi); rc != 0) return Lmdb(rc, "bucket " + bucket);
    visitor.on_bucket(name);
    return ForEach(raw_txn, dbi, [&](std::string_view key, std::string_view value) {
      visitor.on_pair(key, value);
      return Status::Ok();
    });
  }));
  MDB_envinfo info{};
  MDB_stat stat{};
  mdb_env_info(raw_env, &info);
  mdb_env_stat(raw_env, &stat);
  return BoltInfo{(static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize};
}

}  // namespace etcpp::ctl
