// Store::History: the events of a revision interval, read by revision from the key
// bucket (committed batches) and the overlay (the batch not yet committed), for
// watchers that catch up (watch.h). Same two-phase locking as Store::Range: the overlay
// copy and the backend read transaction are taken together under mu_, the bucket scan
// runs without it.
#include "storage/mvcc/range.h"
#include "storage/mvcc/store.h"

namespace etcpp::mvcc {

using base::Result;
using base::Status;

namespace {

Result<mvccpb::Event> EventOf(std::string_view bytes, const DecodedBucketKey& decoded) {
  auto kv = ParseKeyValue(bytes, decoded.revision);
  if (!kv.ok()) return kv.status();
  mvccpb::Event event;
  event.set_type(decoded.tombstone ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
  // A tombstone record holds only the key; etcd's DELETE event carries its revision.
  if (decoded.tombstone) kv->set_mod_revision(decoded.revision.main);
  *event.mutable_kv() = std::move(kv).value();
  return event;
}

}  // namespace

Result<std::vector<mvccpb::Event>> Store::History(int64_t from, int64_t to) const {
  std::vector<mvccpb::Event> events;
  std::vector<std::pair<Revision, std::string>> uncommitted;
  int64_t committed = 0;
  std::optional<backend::ReadTxn> txn;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!broken_.ok()) return broken_;
    if (from < compact_rev_) return ErrCompacted();
    to = std::min(to, current_rev_);
    if (from > to) return events;
    committed = committed_rev_;
    for (auto it = overlay_.lower_bound(Revision{std::max(from, committed + 1), 0});
         it != overlay_.end() && it->first.main <= to; ++it) {
      uncommitted.emplace_back(it->first, it->second);
    }
    if (from <= committed) {
      auto begun = backend_->Read();
      if (!begun.ok()) return begun.status();
      txn.emplace(std::move(begun).value());
    }
  }
  if (txn.has_value()) {
    Status failed;
    Status scanned = txn->ForEach(
        backend::Bucket::kKey, BucketKeyPrefix(from), BucketKeyPrefix(std::min(to, committed) + 1),
        [&](std::string_view key, std::string_view value) {
          DecodedBucketKey decoded;
          if (!DecodeBucketKey(key, &decoded)) {
            failed = Status(base::Code::kCorruption, "mvcc: malformed key bucket record");
            return false;
          }
          auto event = EventOf(value, decoded);
          if (!event.ok()) {
            failed = event.status();
            return false;
          }
          events.push_back(std::move(event).value());
          return true;
        });
    ETCPP_RETURN_IF_ERROR(scanned);
    ETCPP_RETURN_IF_ERROR(failed);
  }
  for (auto& [revision, bytes] : uncommitted) {
    auto kv = ParseKeyValue(bytes, revision);
    if (!kv.ok()) return kv.status();
    // The overlay keys by revision alone; a tombstone is the record without a create
    // revision (WriteTxn::End tells the kinds apart the same way).
    DecodedBucketKey decoded{revision, kv->create_revision() == 0};
    auto event = EventOf(bytes, decoded);
    if (!event.ok()) return event.status();
    events.push_back(std::move(event).value());
  }
  return events;
}

}  // namespace etcpp::mvcc
