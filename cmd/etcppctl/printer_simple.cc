// etcdctl's simplePrinter (printer_simple.go).
#include <iostream>

#include "client/client.h"
#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {
namespace {

class SimplePrinter : public Printer {
 public:
  SimplePrinter(bool hex, bool value_only) : hex_(hex), value_only_(value_only) {}

  void Del(const pb::DeleteRangeResponse& r) override {
    std::cout << r.deleted() << "\n";
    for (const auto& kv : r.prev_kvs()) PrintKV(kv);
  }
  void Get(const pb::RangeResponse& r) override {
    for (const auto& kv : r.kvs()) PrintKV(kv);
  }
  void Put(const pb::PutResponse& r) override {
    std::cout << "OK\n";
    if (r.has_prev_kv()) PrintKV(r.prev_kv());
  }
  void Txn(const pb::TxnResponse& r) override {
    std::cout << (r.succeeded() ? "SUCCESS\n" : "FAILURE\n");
    for (const auto& op : r.responses()) {
      std::cout << "\n";
      if (op.has_response_delete_range()) Del(op.response_delete_range());
      else if (op.has_response_put()) Put(op.response_put());
      else if (op.has_response_range()) Get(op.response_range());
    }
  }
  void Watch(const pb::WatchResponse& r) override {
    for (const auto& e : r.events()) {
      std::cout << (e.type() == mvccpb::Event::PUT ? "PUT" : "DELETE") << "\n";
      if (e.has_prev_kv()) PrintKV(e.prev_kv());
      PrintKV(e.kv());
    }
  }
  void Grant(const pb::LeaseGrantResponse& r) override {
    std::cout << "lease " << Hex16(r.id()) << " granted with TTL(" << r.ttl() << "s)\n";
  }
  void Revoke(int64_t id, const pb::LeaseRevokeResponse&) override {
    std::cout << "lease " << Hex16(id) << " revoked\n";
  }
  void KeepAlive(const pb::LeaseKeepAliveResponse& r) override {
    std::cout << "lease " << Hex16(r.id()) << " keepalived with TTL(" << r.ttl() << ")\n";
  }
  void TimeToLive(const pb::LeaseTimeToLiveResponse& r, bool keys) override {
    if (r.grantedttl() == 0 && r.ttl() == -1) {
      std::cout << "lease " << Hex16(r.id()) << " already expired\n";
      return;
    }
    std::cout << "lease " << Hex16(r.id()) << " granted with TTL(" << r.grantedttl()
              << "s), remaining(" << r.ttl() << "s)";
    if (keys) std::cout << ", attached keys([" << Join({r.keys().begin(), r.keys().end()}, " ") << "])";
    std::cout << "\n";
  }
  void Leases(const pb::LeaseLeasesResponse& r) override {
    std::cout << "found " << r.leases_size() << " leases\n";
    for (const auto& lease : r.leases()) std::cout << Hex16(lease.id()) << "\n";
  }
  void Alarm(const pb::AlarmResponse& r) override {
    for (const auto& alarm : r.alarms()) std::cout << CompactText(alarm) << "\n";
  }
  void MemberAdd(const pb::MemberAddResponse& r) override {
    std::cout << "Member " << Padded(r.member().id()) << " added to cluster "
              << Padded(r.header().cluster_id()) << "\n";
  }
  void MemberRemove(uint64_t id, const pb::MemberRemoveResponse& r) override {
    std::cout << "Member " << Padded(id) << " removed from cluster " << Padded(r.header().cluster_id()) << "\n";
  }
  void MemberUpdate(uint64_t id, const pb::MemberUpdateResponse& r) override {
    std::cout << "Member " << Padded(id) << " updated in cluster " << Padded(r.header().cluster_id()) << "\n";
  }
  void MemberPromote(uint64_t id, const pb::MemberPromoteResponse& r) override {
    std::cout << "Member " << Padded(id) << " promoted in cluster " << Padded(r.header().cluster_id()) << "\n";
  }
  void MemberList(const pb::MemberListResponse& r) override {
    std::vector<std::string> header;
    Rows rows;
    MemberListTable(r, &header, &rows);
    for (const auto& row : rows) std::cout << Join(row, ", ") << "\n";
  }
  void EndpointHealthList(const std::vector<EndpointHealth>& list) override {
    std::cout.flush();
    for (const auto& h : list) {
      if (h.error.empty())
        std::cerr << h.endpoint << " is healthy: successfully committed proposal: took = " << h.took << "\n";
      else
        std::cerr << h.endpoint << " is unhealthy: failed to commit proposal: " << h.error << "\n";
    }
  }
  void EndpointStatusList(const std::vector<EndpointStatus>& list) override {
    std::vector<std::string> header;
    Rows rows;
    EndpointStatusTable(list, &header, &rows);
    for (const auto& row : rows) std::cout << Join(row, ", ") << "\n";
  }
  void EndpointHashKVList(const std::vector<EndpointHashKV>& list) override {
    std::vector<std::string> header;
    Rows rows;
    EndpointHashKVTable(list, &header, &rows);
    for (const auto& row : rows) std::cout << Join(row, ", ") << "\n";
  }
  void DBStatus(const SnapshotStatus& status) override {
    std::vector<std::string> header;
    Rows rows;
    DBStatusTable(status, &header, &rows);
    for (const auto& row : rows) std::cout << Join(row, ", ") << "\n";
  }
  void MoveLeader(uint64_t leader, uint64_t target, const pb::MoveLeaderResponse&) override {
    std::cout << "Leadership transferred from " << Hex(leader) << " to " << Hex(target) << "\n";
  }
  void RoleAdd(const std::string& role, const pb::AuthRoleAddResponse&) override {
    std::cout << "Role " << role << " created\n";
  }
  void RoleGet(const std::string& role, const pb::AuthRoleGetResponse& r) override;
  void RoleList(const pb::AuthRoleListResponse& r) override {
    for (const auto& role : r.roles()) std::cout << role << "\n";
  }
  void RoleDelete(const std::string& role, const pb::AuthRoleDeleteResponse&) override {
    std::cout << "Role " << role << " deleted\n";
  }
  void RoleGrantPermission(const std::string& role, const pb::AuthRoleGrantPermissionResponse&) override {
    std::cout << "Role " << role << " updated\n";
  }
  void RoleRevokePermission(const std::string& role, const std::string& key, const std::string& end,
                            const pb::AuthRoleRevokePermissionResponse&) override {
    if (end.empty()) std::cout << "Permission of key " << key << " is revoked from role " << role << "\n";
    else if (end != std::string(1, '\0'))
      std::cout << "Permission of range [" << key << ", " << end << ") is revoked from role " << role << "\n";
    else
      std::cout << "Permission of range [" << key << ", <open ended> is revoked from role " << role << "\n";
  }
  void UserAdd(const std::string& user, const pb::AuthUserAddResponse&) override {
    std::cout << "User " << user << " created\n";
  }
  void UserGet(const std::string& user, const pb::AuthUserGetResponse& r) override {
    std::cout << "User: " << user << "\nRoles:";
    for (const auto& role : r.roles()) std::cout << " " << role;
    std::cout << "\n";
  }
  void UserChangePassword(const pb::AuthUserChangePasswordResponse&) override {
    std::cout << "Password updated\n";
  }
  void UserGrantRole(const std::string& user, const std::string& role,
                     const pb::AuthUserGrantRoleResponse&) override {
    std::cout << "Role " << role << " is granted to user " << user << "\n";
  }
  void UserRevokeRole(const std::string& user, const std::string& role,
                      const pb::AuthUserRevokeRoleResponse&) override {
    std::cout << "Role " << role << " is revoked from user " << user << "\n";
  }
  void UserDelete(const std::string& user, const pb::AuthUserDeleteResponse&) override {
    std::cout << "User " << user << " deleted\n";
  }
  void UserList(const pb::AuthUserListResponse& r) override {
    for (const auto& user : r.users()) std::cout << user << "\n";
  }

 protected:
  void Rpc(const google::protobuf::Message&) override {}
  void Unsupported() override {}

 private:
  // Go's "%16x": hex, space-padded to 16.
  static std::string Padded(uint64_t id) {
    std::string hex = Hex(id);
    return std::string(hex.size() < 16 ? 16 - hex.size() : 0, ' ') + hex;
  }
  void PrintKV(const mvccpb::KeyValue& kv) {
    const std::string key = hex_ ? HexBytes(kv.key()) : kv.key();
    const std::string value = hex_ ? HexBytes(kv.value()) : kv.value();
    if (!value_only_) std::cout << key << "\n";
    std::cout << value << "\n";
  }
  void PrintRange(const authpb::Permission& perm) {
    const std::string& end = perm.range_end();
    if (end != std::string(1, '\0')) std::cout << "\t[" << perm.key() << ", " << end << ")";
    else std::cout << "\t[" << perm.key() << ", <open ended>";
    if (client::PrefixRangeEnd(perm.key()) == end) std::cout << " (prefix " << perm.key() << ")";
    std::cout << "\n";
  }

  const bool hex_;
  const bool value_only_;
};

void SimplePrinter::RoleGet(const std::string& role, const pb::AuthRoleGetResponse& r) {
  std::cout << "Role " << role << "\nKV Read:\n";
  for (const auto& perm : r.perm()) {
    if (perm.permtype() != authpb::Permission::READ && perm.permtype() != authpb::Permission::READWRITE)
      continue;
    if (perm.range_end().empty()) std::cout << "\t" << perm.key() << "\n";
    else PrintRange(perm);
  }
  std::cout << "KV Write:\n";
  for (const auto& perm : r.perm()) {
    if (perm.permtype() != authpb::Permission::WRITE && perm.permtype() != authpb::Permission::READWRITE)
      continue;
    if (perm.range_end().empty()) std::cout << "\t" << perm.key() << "\n";
    else PrintRange(perm);
  }
}

}  // namespace

std::unique_ptr<Printer> NewSimplePrinter(bool hex, bool value_only) {
  return std::make_unique<SimplePrinter>(hex, value_only);
}

std::string HexBytes(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += "\\x";
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

}  // namespace etcpp::ctl
