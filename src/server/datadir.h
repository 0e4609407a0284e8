// Writes the start of a new member's data dir: the cluster's member records and
// consistent index in the backend, then a WAL and snapshot that begin at index 1 with
// every member a voter. Shared by a new cluster's bootstrap and `etcppctl snapshot
// restore`, which runs it over a backend copied from a snapshot, so the restored keys
// come up in a new cluster exactly as a freshly bootstrapped one would.
//
// Order matters for crashes: the backend is committed before the WAL exists, and a data
// dir without a WAL is treated as new, so an interrupted run is simply repeated.
// Owner thread of `backend` only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcpp/serverpb.pb.h"
#include "server/raft_storage.h"
#include "storage/backend/backend.h"

namespace etcpp::server {

// `members` is the whole initial cluster (their ids from ParseInitialCluster), `self_id`
// one of them. Member records already in the backend (a snapshot's old cluster) are
// replaced.
base::Result<std::unique_ptr<RaftStorage>> InitializeMemberDataDir(
    backend::Backend* backend, const std::string& wal_dir, const std::string& snap_dir,
    const std::vector<serverpb::Member>& members, uint64_t self_id);

}  // namespace etcpp::server
