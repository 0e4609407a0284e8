// Snapshot files as etcppctl meets them: an etcpp snapshot is an LMDB environment file
// (what etcpp's Maintenance.Snapshot sends), an etcd one a bbolt file; either may end
// with the 32-byte SHA-256 trailer the snapshot stream appends.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "boltdb.h"

namespace etcpp::ctl {

enum class SnapshotFormat { kUnknown, kBolt, kLmdb };

// Tells the formats apart by the magic number both keep right after the first page's
// 16-byte header.
SnapshotFormat DetectSnapshotFormat(std::string_view file_start);

// Reads the LMDB file at `path` read-only (no lock file, nothing written) and reports
// every named database as a bucket, each followed by its pairs, in key order — the walk
// etcd's `snapshot status` makes over a bbolt file. size_bytes: pages in use times the
// page size.
base::Result<BoltInfo> WalkLmdbFile(const std::string& path, const BoltVisitor& visitor);

}  // namespace etcpp::ctl
