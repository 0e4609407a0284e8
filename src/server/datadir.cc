#include "server/datadir.h"

#include "server/member.h"

namespace etcpp::server {
base::Result<std::unique_ptr<RaftStorage>> InitializeMemberDataDir(
    backend::Backend* backend, const std::string& wal_dir, const std::string& snap_dir,
    const std::vector<serverpb::Member>& members, uint64_t self_id) {
  std::vector<std::string> stale;
  ETCPP_RETURN_IF_ERROR(backend->ForEachForWrite(
      backend::Bucket::kMembers, "", "", [&](std::string_view key, std::string_view) {
        stale.emplace_back(key);
        return true;
      }));
  for (const auto& key : stale) ETCPP_RETURN_IF_ERROR(backend->Delete(backend::Bucket::kMembers, key));
  raftpb::Snapshot bootstrap;
  bootstrap.mutable_metadata()->set_index(1);
  bootstrap.mutable_metadata()->set_term(1);
  std::vector<uint64_t> ids;
  for (const auto& member : members) {
    ETCPP_RETURN_IF_ERROR(backend->Put(backend::Bucket::kMembers, MemberKey(member.id()),
                                       member.SerializeAsString()));
    bootstrap.mutable_metadata()->mutable_conf_state()->add_voters(member.id());
    ids.push_back(member.id());
  }
  ETCPP_RETURN_IF_ERROR(backend->SetConsistentIndex(1));
  ETCPP_RETURN_IF_ERROR(backend->Commit());
  return RaftStorage::Create(wal_dir, snap_dir, {self_id, ComputeClusterId(ids)}, bootstrap);
}

}  // namespace etcpp::server
