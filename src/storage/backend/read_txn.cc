// ReadTxn and the cursor scan shared with the write path. See backend.h for the
// threading contract.
#include "storage/backend/backend.h"
#include "storage/backend/scan.h"

namespace etcpp::backend {

namespace {
MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view ToView(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}
}  // namespace

base::Status Scan(MDB_txn* txn, MDB_dbi dbi, std::string_view from, std::string_view to,
                  const std::function<bool(std::string_view, std::string_view)>& fn) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &cursor);
  if (rc != 0) return LmdbStatus(rc, "cursor open");
  MDB_val key = ToVal(from);
  MDB_val value{};
  rc = mdb_cursor_get(cursor, &key, &value, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0) {
    std::string_view k = ToView(key);
    if (!to.empty() && k >= to) break;
    if (!fn(k, ToView(value))) break;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "cursor get");
  return base::Status::Ok();
}

ReadTxn::ReadTxn(const Backend* backend, MDB_txn* txn,
                 std::shared_lock<std::shared_mutex> remap_lock)
    : backend_(backend), txn_(txn), remap_lock_(std::move(remap_lock)) {}

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : backend_(other.backend_), txn_(other.txn_), remap_lock_(std::move(other.remap_lock_)) {
  other.txn_ = nullptr;
}

ReadTxn::~ReadTxn() {
  // Abort, not commit: a read transaction has nothing to write, and aborting releases
  // the reader slot so LMDB can reuse the pages it pinned.
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

base::Result<std::optional<std::string_view>> ReadTxn::Get(Bucket bucket,
                                                           std::string_view key) const {
  ETCPP_ASSERT(txn_ != nullptr);
  MDB_val k = ToVal(key);
  MDB_val v{};
  int rc = mdb_get(txn_, backend_->dbi(bucket), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return LmdbStatus(rc, "get");
  return std::optional<std::string_view>(ToView(v));
}

base::Status ReadTxn::ForEach(
    Bucket bucket, std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  ETCPP_ASSERT(txn_ != nullptr);
  return Scan(txn_, backend_->dbi(bucket), from, to, fn);
}

}  // namespace etcpp::backend
