// etcdctl's fieldsPrinter (printer_fields.go): one `"Name" : value` line per field.
#include <iostream>

#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {
namespace {

class FieldsPrinter : public Printer {
 public:
  void Del(const pb::DeleteRangeResponse& r) override {
    Header(r.header());
    std::cout << "\"Deleted\" : " << r.deleted() << "\n";
    for (const auto& kv : r.prev_kvs()) KV("Prev", kv);
  }
  void Get(const pb::RangeResponse& r) override {
    Header(r.header());
    for (const auto& kv : r.kvs()) KV("", kv);
    std::cout << "\"More\" : " << Bool(r.more()) << "\n\"Count\" : " << r.count() << "\n";
  }
  void Put(const pb::PutResponse& r) override {
    Header(r.header());
    if (r.has_prev_kv()) KV("Prev", r.prev_kv());
  }
  void Txn(const pb::TxnResponse& r) override {
    Header(r.header());
    std::cout << "\"Succeeded\" : " << Bool(r.succeeded()) << "\n";
    for (const auto& op : r.responses()) {
      if (op.has_response_delete_range()) Del(op.response_delete_range());
      else if (op.has_response_put()) Put(op.response_put());
      else if (op.has_response_range()) Get(op.response_range());
    }
  }
  void Watch(const pb::WatchResponse& r) override {
    Header(r.header());
    for (const auto& e : r.events()) {
      std::cout << "\"Type\" : " << (e.type() == mvccpb::Event::PUT ? "PUT" : "DELETE") << "\n";
      if (e.has_prev_kv()) KV("Prev", e.prev_kv());
      KV("", e.kv());
    }
  }
  void Grant(const pb::LeaseGrantResponse& r) override {
    Header(r.header());
    std::cout << "\"ID\" : " << r.id() << "\n\"TTL\" : " << r.ttl() << "\n";
  }
  void Revoke(int64_t, const pb::LeaseRevokeResponse& r) override { Header(r.header()); }
  void KeepAlive(const pb::LeaseKeepAliveResponse& r) override {
    Header(r.header());
    std::cout << "\"ID\" : " << r.id() << "\n\"TTL\" : " << r.ttl() << "\n";
  }
  void TimeToLive(const pb::LeaseTimeToLiveResponse& r, bool) override {
    Header(r.header());
    std::cout << "\"ID\" : " << r.id() << "\n\"TTL\" : " << r.ttl() << "\n\"GrantedTTL\" : " << r.grantedttl() << "\n";
    for (const auto& key : r.keys()) std::cout << "\"Key\" : " << GoQuote(key) << "\n";
  }
  void Leases(const pb::LeaseLeasesResponse& r) override {
    Header(r.header());
    for (const auto& lease : r.leases()) std::cout << "\"ID\" : " << lease.id() << "\n";
  }
  void MemberList(const pb::MemberListResponse& r) override {
    Header(r.header());
    for (const auto& m : r.members()) {
      std::cout << "\"ID\" : " << m.id() << "\n\"Name\" : " << GoQuote(m.name()) << "\n";
      for (const auto& url : m.peerurls()) std::cout << "\"PeerURL\" : " << GoQuote(url) << "\n";
      for (const auto& url : m.clienturls()) std::cout << "\"ClientURL\" : " << GoQuote(url) << "\n";
      std::cout << "\"IsLearner\" : " << Bool(m.islearner()) << "\n\n";
    }
  }
  void EndpointHealthList(const std::vector<EndpointHealth>& list) override {
    for (const auto& h : list) {
      std::cout << "\"Endpoint\" : " << GoQuote(h.endpoint) << "\n\"Health\" : " << Bool(h.health)
                << "\n\"Took\" : " << h.took << "\n\"Error\" : " << h.error << "\n\n";
    }
  }
  void EndpointStatusList(const std::vector<EndpointStatus>& list) override {
    for (const auto& e : list) {
      const auto& s = e.status;
      Header(s.header());
      std::cout << "\"Version\" : " << GoQuote(s.version()) << "\n\"DBSize\" : " << s.dbsize()
                << "\n\"Leader\" : " << s.leader() << "\n\"IsLearner\" : " << Bool(s.islearner())
                << "\n\"RaftIndex\" : " << s.raftindex() << "\n\"RaftTerm\" : " << s.raftterm()
                << "\n\"RaftAppliedIndex\" : " << s.raftappliedindex() << "\n\"Errors\" : ["
                << Join({s.errors().begin(), s.errors().end()}, " ") << "]\n\"Endpoint\" : "
                << GoQuote(e.endpoint) << "\n\n";
    }
  }
  void EndpointHashKVList(const std::vector<EndpointHashKV>& list) override {
    for (const auto& h : list) {
      Header(h.hash.header());
      std::cout << "\"Endpoint\" : " << GoQuote(h.endpoint) << "\n\"Hash\" : " << h.hash.hash() << "\n\n";
    }
  }
  void Alarm(const pb::AlarmResponse& r) override {
    Header(r.header());
    for (const auto& a : r.alarms()) {
      std::cout << "\"MemberID\" : " << a.memberid() << "\n\"AlarmType\" : "
                << pb::AlarmType_Name(a.alarm()) << "\n\n";
    }
  }
  void DBStatus(const SnapshotStatus& s) override {
    std::cout << "\"Hash\" : " << s.hash << "\n\"Revision\" : " << s.revision << "\n\"Keys\" : " << s.total_keys
              << "\n\"Size\" : " << s.total_size << "\n";
  }
  void RoleAdd(const std::string&, const pb::AuthRoleAddResponse& r) override { Header(r.header()); }
  void RoleGet(const std::string&, const pb::AuthRoleGetResponse& r) override {
    Header(r.header());
    for (const auto& p : r.perm()) {
      std::cout << "\"PermType\" :  " << authpb::Permission::Type_Name(p.permtype()) << "\n\"Key\" : "
                << GoQuote(p.key()) << "\n\"RangeEnd\" : " << GoQuote(p.range_end()) << "\n";
    }
  }
  void RoleDelete(const std::string&, const pb::AuthRoleDeleteResponse& r) override { Header(r.header()); }
  void RoleList(const pb::AuthRoleListResponse& r) override {
    Header(r.header());
    std::cout << "\"Roles\" :";
    for (const auto& role : r.roles()) std::cout << " " << GoQuote(role);
    std::cout << "\n";
  }
  void RoleGrantPermission(const std::string&, const pb::AuthRoleGrantPermissionResponse& r) override {
    Header(r.header());
  }
  void RoleRevokePermission(const std::string&, const std::string&, const std::string&,
                            const pb::AuthRoleRevokePermissionResponse& r) override {
    Header(r.header());
  }
  void UserAdd(const std::string&, const pb::AuthUserAddResponse& r) override { Header(r.header()); }
  void UserChangePassword(const pb::AuthUserChangePasswordResponse& r) override { Header(r.header()); }
  void UserGrantRole(const std::string&, const std::string&, const pb::AuthUserGrantRoleResponse& r) override {
    Header(r.header());
  }
  void UserRevokeRole(const std::string&, const std::string&, const pb::AuthUserRevokeRoleResponse& r) override {
    Header(r.header());
  }
  void UserDelete(const std::string&, const pb::AuthUserDeleteResponse& r) override { Header(r.header()); }

 protected:
  void Rpc(const google::protobuf::Message&) override { Unsupported(); }
  void Unsupported() override { ExitWithError(kExitBadFeature, "fields not supported as output format"); }

 private:
  static const char* Bool(bool b) { return b ? "true" : "false"; }
  static void Header(const pb::ResponseHeader& h) {
    std::cout << "\"ClusterID\" : " << h.cluster_id() << "\n\"MemberID\" : " << h.member_id()
              << "\n\"Revision\" : " << h.revision() << "\n\"RaftTerm\" : " << h.raft_term() << "\n";
  }
  static void KV(const std::string& prefix, const mvccpb::KeyValue& kv) {
    std::cout << "\"" << prefix << "Key\" : " << GoQuote(kv.key()) << "\n\"" << prefix
              << "CreateRevision\" : " << kv.create_revision() << "\n\"" << prefix
              << "ModRevision\" : " << kv.mod_revision() << "\n\"" << prefix << "Version\" : " << kv.version()
              << "\n\"" << prefix << "Value\" : " << GoQuote(kv.value()) << "\n\"" << prefix
              << "Lease\" : " << kv.lease() << "\n";
  }
};

}  // namespace

std::unique_ptr<Printer> NewFieldsPrinter() { return std::make_unique<FieldsPrinter>(); }

}  // namespace etcpp::ctl
