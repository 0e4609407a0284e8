// Test-only: an obviously-correct in-memory model of etcd v3.5's key-value semantics,
// for the model-based test. It keeps every key's full history (nothing is ever
// forgotten: compaction only moves the "compacted" mark) and answers each request by
// scanning it. Nested txn paths are a tree here, not a pre-order list as in the store.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "storage/mvcc/revision.h"
#include "storage/mvcc/types.h"

namespace etcpp::mvcc::testing {

class Reference {
 public:
  struct Entry {
    Revision revision;
    bool tombstone = false;
    mvccpb::KeyValue kv;  // a tombstone's holds only the key, as stored
  };
  struct Changes {  // the write transaction in progress
    int64_t begin = 0;
    int64_t count = 0;
    std::vector<mvccpb::Event> events;
    int64_t Rev() const { return begin + (count > 0 ? 1 : 0); }
  };

  int64_t current = 1;
  int64_t compacted = -1;
  std::map<std::string, std::vector<Entry>> history;

  const mvccpb::KeyValue* At(const std::string& key, int64_t rev) const {
    auto it = history.find(key);
    if (it == history.end()) return nullptr;
    const Entry* last = nullptr;
    for (const Entry& e : it->second) {
      if (e.revision.main <= rev) last = &e;
    }
    return last == nullptr || last->tombstone ? nullptr : &last->kv;
  }

  static bool InRange(const std::string& key, const std::string& end, const std::string& k) {
    if (end.empty()) return k == key;
    if (end == std::string(1, '\0')) return k >= key;
    return k >= key && k < end;
  }

  std::vector<mvccpb::KeyValue> LiveAt(const std::string& key, const std::string& end, int64_t rev) const {
    std::vector<mvccpb::KeyValue> out;
    for (const auto& [k, entries] : history) {
      if (InRange(key, end, k)) {
        if (const auto* kv = At(k, rev)) out.push_back(*kv);
      }
    }
    return out;
  }

  base::Result<RangeResponse> Range(const RangeRequest& r, int64_t view_rev) const {
    if (r.revision > view_rev) return ErrFutureRev();
    int64_t rev = r.revision <= 0 ? view_rev : r.revision;
    if (rev < compacted) return ErrCompacted();
    std::vector<mvccpb::KeyValue> kvs = LiveAt(r.key, r.range_end, rev);
    RangeResponse out;
    out.revision = view_rev;
    out.count = static_cast<int64_t>(kvs.size());
    if (r.count_only) return out;
    bool whole = r.sort_order != SortOrder::kNone || r.min_mod_revision || r.max_mod_revision ||
                 r.min_create_revision || r.max_create_revision;
    // Without sort or filters etcd only ever fetches limit + 1 keys.
    if (!whole && r.limit > 0 && static_cast<int64_t>(kvs.size()) > r.limit + 1) kvs.resize(r.limit + 1);
    std::vector<mvccpb::KeyValue> kept;
    for (auto& kv : kvs) {
      if (r.max_mod_revision && kv.mod_revision() > r.max_mod_revision) continue;
      if (r.min_mod_revision && kv.mod_revision() < r.min_mod_revision) continue;
      if (r.max_create_revision && kv.create_revision() > r.max_create_revision) continue;
      if (r.min_create_revision && kv.create_revision() < r.min_create_revision) continue;
      kept.push_back(kv);
    }
    SortOrder order = r.sort_order;
    if (order == SortOrder::kNone && r.sort_target != SortTarget::kKey) order = SortOrder::kAscend;
    if (order != SortOrder::kNone) {
      auto field = [&](const mvccpb::KeyValue& kv) -> std::pair<std::string, int64_t> {
        switch (r.sort_target) {
          case SortTarget::kKey: return {kv.key(), 0};
          case SortTarget::kValue: return {kv.value(), 0};
          case SortTarget::kVersion: return {"", kv.version()};
          case SortTarget::kCreate: return {"", kv.create_revision()};
          case SortTarget::kMod: return {"", kv.mod_revision()};
        }
        return {"", 0};
      };
      std::stable_sort(kept.begin(), kept.end(), [&](const auto& a, const auto& b) {
        return order == SortOrder::kAscend ? field(a) < field(b) : field(b) < field(a);
      });
    }
    if (r.limit > 0 && static_cast<int64_t>(kept.size()) > r.limit) {
      kept.resize(r.limit);
      out.more = true;
    }
    if (r.keys_only) {
      for (auto& kv : kept) kv.clear_value();
    }
    out.kvs = kept;
    return out;
  }

  void Record(Changes* c, const std::string& key, bool tombstone, mvccpb::KeyValue kv) {
    Revision revision{c->begin + 1, c->count++};
    mvccpb::Event event;
    event.set_type(tombstone ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
    *event.mutable_kv() = kv;
    if (tombstone) event.mutable_kv()->set_mod_revision(revision.main);
    const bool create = !tombstone && kv.version() == 1;
    if (!create) {
      if (const auto* prev = At(key, c->begin)) *event.mutable_prev_kv() = *prev;
    }
    c->events.push_back(event);
    history[key].push_back(Entry{revision, tombstone, std::move(kv)});
  }

  base::Result<PutResponse> Put(Changes* c, const PutRequest& p) {
    const mvccpb::KeyValue* prev = At(p.key, c->Rev());
    if ((p.ignore_value || p.ignore_lease) && prev == nullptr) return ErrKeyNotFound();
    PutResponse out;
    if (p.prev_kv && prev != nullptr) out.prev_kv = *prev;
    mvccpb::KeyValue kv;
    kv.set_key(p.key);
    kv.set_value(p.ignore_value ? prev->value() : p.value);
    kv.set_lease(p.ignore_lease ? prev->lease() : p.lease);
    kv.set_mod_revision(c->begin + 1);
    kv.set_create_revision(prev ? prev->create_revision() : c->begin + 1);
    kv.set_version(prev ? prev->version() + 1 : 1);
    Record(c, p.key, false, kv);
    out.revision = c->begin + 1;
    return out;
  }

  DeleteRangeResponse Delete(Changes* c, const DeleteRangeRequest& d) {
    DeleteRangeResponse out;
    auto live = LiveAt(d.key, d.range_end, c->Rev());
    if (d.prev_kv) out.prev_kvs = live;
    for (const auto& kv : live) {
      mvccpb::KeyValue tomb;
      tomb.set_key(kv.key());
      Record(c, kv.key(), true, tomb);
    }
    out.deleted = static_cast<int64_t>(live.size());
    out.revision = c->Rev();
    return out;
  }

  // --- txn ---
  struct Path {
    bool succeeded = true;
    std::vector<Path> nested;  // one per nested txn on the taken branch, in order
  };

  bool CompareHolds(const Compare& cmp) const {
    auto kvs = LiveAt(cmp.key, cmp.range_end, current);
    if (kvs.empty()) {
      if (cmp.target == Compare::Target::kValue) return false;
      kvs.emplace_back();
    }
    for (const auto& kv : kvs) {
      int c = 0;
      auto cmp3 = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
      switch (cmp.target) {
        case Compare::Target::kValue: c = cmp3(kv.value(), cmp.value); break;
        case Compare::Target::kVersion: c = cmp3(kv.version(), cmp.number); break;
        case Compare::Target::kCreate: c = cmp3(kv.create_revision(), cmp.number); break;
        case Compare::Target::kMod: c = cmp3(kv.mod_revision(), cmp.number); break;
        case Compare::Target::kLease: c = cmp3(kv.lease(), cmp.number); break;
      }
      bool ok = cmp.result == Compare::Result::kEqual      ? c == 0
                : cmp.result == Compare::Result::kNotEqual ? c != 0
                : cmp.result == Compare::Result::kLess     ? c < 0
                                                           : c > 0;
      if (!ok) return false;
    }
    return true;
  }

  Path Evaluate(const TxnRequest& t) const {
    Path path;
    for (const auto& c : t.compare) path.succeeded = path.succeeded && CompareHolds(c);
    for (const auto& op : path.succeeded ? t.success : t.failure) {
      if (const auto* n = std::get_if<TxnRequest>(&op.request)) path.nested.push_back(Evaluate(*n));
    }
    return path;
  }

  // The put checks first over the whole path, then the range checks (etcd's order).
  base::Status Check(const TxnRequest& t, const Path& path, bool puts) const {
    size_t nested = 0;
    for (const auto& op : path.succeeded ? t.success : t.failure) {
      if (const auto* n = std::get_if<TxnRequest>(&op.request)) {
        ETCPP_RETURN_IF_ERROR(Check(*n, path.nested[nested++], puts));
      } else if (const auto* p = std::get_if<PutRequest>(&op.request); p && puts) {
        if ((p->ignore_value || p->ignore_lease) && At(p->key, current) == nullptr) return ErrKeyNotFound();
      } else if (const auto* r = std::get_if<RangeRequest>(&op.request); r && !puts && r->revision != 0) {
        if (r->revision > current) return ErrFutureRev();
        if (r->revision < compacted) return ErrCompacted();
      }
    }
    return base::Status::Ok();
  }

  base::Result<TxnResponse> Apply(Changes* c, const TxnRequest& t, const Path& path) {
    TxnResponse out;
    out.succeeded = path.succeeded;
    size_t nested = 0;
    for (const auto& op : path.succeeded ? t.success : t.failure) {
      ResponseOp& r = out.responses.emplace_back();
      if (const auto* range = std::get_if<RangeRequest>(&op.request)) {
        r.response = Range(*range, c->Rev()).value();
      } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
        auto p = Put(c, *put);  // fails only after the txn deleted the key itself
        if (!p.ok()) return p.status();
        r.response = std::move(p).value();
      } else if (const auto* del = std::get_if<DeleteRangeRequest>(&op.request)) {
        r.response = Delete(c, *del);
      } else {
        auto n = Apply(c, std::get<TxnRequest>(op.request), path.nested[nested++]);
        if (!n.ok()) return n.status();
        r.response = std::move(n).value();
      }
    }
    return out;
  }

  base::Result<TxnResponse> Txn(Changes* c, const TxnRequest& t) {
    Path path = Evaluate(t);
    ETCPP_RETURN_IF_ERROR(Check(t, path, true));
    ETCPP_RETURN_IF_ERROR(Check(t, path, false));
    // All or nothing: on failure the history goes back to what it was.
    const auto saved = history;
    auto out = Apply(c, t, path);
    if (!out.ok()) {
      history = saved;
      *c = Changes{c->begin, 0, {}};
      return out;
    }
    out->revision = c->Rev();
    return out;
  }

  void End(const Changes& c) {
    if (c.count > 0) current = c.begin + 1;
  }

  base::Status Compact(int64_t rev) {
    if (rev <= compacted) return ErrCompacted();
    if (rev > current) return ErrFutureRev();
    compacted = rev;
    return base::Status::Ok();
  }

  // A record is still stored unless a compaction removed it: at or below the compacted
  // mark only each key's newest record survives, if it is a put or sits exactly at the
  // mark (etcd >= 3.5.16 keeps such a tombstone).
  bool Stored(const std::vector<Entry>& entries, size_t i) const {
    if (entries[i].revision.main > compacted) return true;
    bool newest_below = i + 1 == entries.size() || entries[i + 1].revision.main > compacted;
    return newest_below && (!entries[i].tombstone || entries[i].revision.main == compacted);
  }

  base::Result<HashKVResponse> HashKV(int64_t rev) const {
    if (rev > 0 && rev < compacted) return ErrCompacted();
    if (rev > current) return ErrFutureRev();
    int64_t at = rev == 0 ? current : rev;
    std::map<Revision, std::pair<std::string, std::string>> records;
    std::vector<Revision> keep;
    for (const auto& [key, entries] : history) {
      const Entry* newest = nullptr;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].revision.main > at) break;
        newest = &entries[i];
        if (Stored(entries, i)) {
          records[entries[i].revision] = {BucketKey(entries[i].revision, entries[i].tombstone),
                                          entries[i].kv.SerializeAsString()};
        }
      }
      if (newest != nullptr && !newest->tombstone) keep.push_back(newest->revision);
    }
    uint32_t hash = base::crc32c::Extend(0, "key");
    for (const auto& [revision, record] : records) {
      bool kept = std::find(keep.begin(), keep.end(), revision) != keep.end();
      if (revision.main <= compacted && !keep.empty() && !kept) continue;
      if (revision.main == compacted && record.first.size() == kRevisionBytes + 1) continue;
      hash = base::crc32c::Extend(base::crc32c::Extend(hash, record.first), record.second);
    }
    HashKVResponse out;
    out.hash = hash;
    out.revision = current;
    out.compact_revision = compacted;
    out.hash_revision = at;
    return out;
  }
};

}  // namespace etcpp::mvcc::testing
