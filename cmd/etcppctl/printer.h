// Printers: one per output format (-w simple|fields|json|protobuf|table), each a copy of
// etcdctl's printer of the same name so the bytes match. A format that has no rendering
// for a response exits with "<format> not supported as output format", as etcdctl does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "etcdserverpb/rpc.pb.h"

namespace etcpp::ctl {

struct EndpointHealth {
  std::string endpoint;
  bool health = false;
  std::string took;  // Go's time.Duration text, e.g. "1.2ms"
  std::string error;
};
struct EndpointStatus {
  std::string endpoint;
  etcdserverpb::StatusResponse status;
};
struct EndpointHashKV {
  std::string endpoint;
  etcdserverpb::HashKVResponse hash;
};

// What `snapshot status` reports about a snapshot file (etcd's snapshot.Status).
struct SnapshotStatus {
  uint32_t hash = 0;  // CRC-32C over bucket names, keys and values in order
  int64_t revision = 0;
  int64_t total_keys = 0;
  int64_t total_size = 0;
};

namespace pb = etcdserverpb;

class Printer {
 public:
  virtual ~Printer() = default;

  virtual void Del(const pb::DeleteRangeResponse& r) { Rpc(r); }
  virtual void Get(const pb::RangeResponse& r) { Rpc(r); }
  virtual void Put(const pb::PutResponse& r) { Rpc(r); }
  virtual void Txn(const pb::TxnResponse& r) { Rpc(r); }
  virtual void Watch(const pb::WatchResponse& r) { Rpc(r); }
  virtual void Grant(const pb::LeaseGrantResponse& r) { Rpc(r); }
  virtual void Revoke(int64_t /*id*/, const pb::LeaseRevokeResponse& r) { Rpc(r); }
  virtual void KeepAlive(const pb::LeaseKeepAliveResponse& r) { Rpc(r); }
  virtual void TimeToLive(const pb::LeaseTimeToLiveResponse& r, bool /*keys*/) { Rpc(r); }
  virtual void Leases(const pb::LeaseLeasesResponse& r) { Rpc(r); }
  virtual void MemberAdd(const pb::MemberAddResponse& r) { Rpc(r); }
  virtual void MemberRemove(uint64_t /*id*/, const pb::MemberRemoveResponse& r) { Rpc(r); }
  virtual void MemberUpdate(uint64_t /*id*/, const pb::MemberUpdateResponse& r) { Rpc(r); }
  virtual void MemberPromote(uint64_t /*id*/, const pb::MemberPromoteResponse& r) { Rpc(r); }
  virtual void MemberList(const pb::MemberListResponse& r) { Rpc(r); }
  virtual void EndpointHealthList(const std::vector<EndpointHealth>&) { Unsupported(); }
  virtual void EndpointStatusList(const std::vector<EndpointStatus>&) { Unsupported(); }
  virtual void EndpointHashKVList(const std::vector<EndpointHashKV>&) { Unsupported(); }
  virtual void MoveLeader(uint64_t, uint64_t, const pb::MoveLeaderResponse&) { Unsupported(); }
  virtual void Alarm(const pb::AlarmResponse& r) { Rpc(r); }
  virtual void DBStatus(const SnapshotStatus&) { Unsupported(); }
  virtual void RoleAdd(const std::string&, const pb::AuthRoleAddResponse& r) { Rpc(r); }
  virtual void RoleGet(const std::string&, const pb::AuthRoleGetResponse& r) { Rpc(r); }
  virtual void RoleDelete(const std::string&, const pb::AuthRoleDeleteResponse& r) { Rpc(r); }
  virtual void RoleList(const pb::AuthRoleListResponse& r) { Rpc(r); }
  virtual void RoleGrantPermission(const std::string&, const pb::AuthRoleGrantPermissionResponse& r) {
    Rpc(r);
  }
  virtual void RoleRevokePermission(const std::string&, const std::string&, const std::string&,
                                    const pb::AuthRoleRevokePermissionResponse& r) {
    Rpc(r);
  }
  virtual void UserAdd(const std::string&, const pb::AuthUserAddResponse& r) { Rpc(r); }
  virtual void UserGet(const std::string&, const pb::AuthUserGetResponse& r) { Rpc(r); }
  virtual void UserList(const pb::AuthUserListResponse& r) { Rpc(r); }
  virtual void UserChangePassword(const pb::AuthUserChangePasswordResponse& r) { Rpc(r); }
  virtual void UserGrantRole(const std::string&, const std::string&,
                             const pb::AuthUserGrantRoleResponse& r) {
    Rpc(r);
  }
  virtual void UserRevokeRole(const std::string&, const std::string&,
                              const pb::AuthUserRevokeRoleResponse& r) {
    Rpc(r);
  }
  virtual void UserDelete(const std::string&, const pb::AuthUserDeleteResponse& r) { Rpc(r); }

 protected:
  // How the format renders a response it has no special text for.
  virtual void Rpc(const google::protobuf::Message& message) = 0;
  virtual void Unsupported() = 0;
};

// nullptr for an unknown format name.
std::unique_ptr<Printer> NewPrinter(const std::string& format, bool hex);
// For `get --print-value-only`: a simple printer that prints values only; nullptr when
// the format is not "simple".
std::unique_ptr<Printer> NewValueOnlyPrinter(const std::string& format, bool hex);

// Go's %q for a byte string (strconv.Quote).
std::string GoQuote(const std::string& bytes);
// etcdctl's "\x66\x6f\x6f" spelling of bytes under --hex.
std::string HexBytes(const std::string& bytes);
// Go's %+v of a protobuf message: its compact text format ("memberID:1 alarm:NOSPACE ").
std::string CompactText(const google::protobuf::Message& message);

}  // namespace etcpp::ctl
