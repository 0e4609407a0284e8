// A read-only walk over a bbolt database file (etcd's backend format, and the format of
// `etcdctl snapshot save` files), enough for `snapshot status`: the top-level buckets and
// their key-value pairs in key order.
//
// Format (go.etcd.io/bbolt): fixed-size pages; pages 0 and 1 hold two copies of the meta
// (the valid one with the higher txid wins), which names the root bucket's page and the
// page count. Branch pages hold (key, child page) elements, leaf pages (key, value, flags)
// elements; a leaf value flagged as a bucket starts with the bucket's root page id, and
// root 0 means the bucket's single page is stored inline right after that header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcpp::ctl {

struct BoltVisitor {
  std::function<void(std::string_view bucket)> on_bucket;
  std::function<void(std::string_view key, std::string_view value)> on_pair;
};

struct BoltInfo {
  uint64_t size_bytes = 0;  // pages in use times the page size, as bbolt's Tx.Size
};

// Reads the file at `path` and reports every top-level bucket, each followed by its
// pairs, in key order.
base::Result<BoltInfo> WalkBoltFile(const std::string& path, const BoltVisitor& visitor);

}  // namespace etcpp::ctl
