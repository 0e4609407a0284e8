// Alarms (etcd's Maintenance.Alarm): NOSPACE when the backend outgrows
// --quota-backend-bytes — from then on writes that add data are refused and only reads,
// deletes and compactions pass, until an operator frees space and disarms it.
//
// Alarms are raised and cleared through raft so that every member refuses the same
// writes; each member decides from its own backend size when to raise one (as etcd).
// They persist in the backend's `alarm` bucket (key: member id, 8 bytes, + type byte).
#include "base/log.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

namespace {

std::string AlarmKey(uint64_t member, etcdserverpb::AlarmType type) {
  return MemberKey(member) + static_cast<char>(type);
}

base::Status NoSpace() {
  return base::Status(base::Code::kResourceExhausted, "etcdserver: mvcc: database space exceeded");
}

}  // namespace

base::Status EtcdServer::LoadAlarms() {
  auto read = backend_->Read();
  if (!read.ok()) return read.status();
  std::lock_guard lock(alarms_mu_);
  alarms_.clear();
  return read->ForEach(backend::Bucket::kAlarm, "", "", [this](std::string_view key, std::string_view) {
    if (key.size() != 9) return true;
    etcdserverpb::AlarmMember alarm;
    uint64_t id = 0;
    for (size_t i = 0; i < 8; ++i) id = (id << 8) | static_cast<unsigned char>(key[i]);
    alarm.set_memberid(id);
    alarm.set_alarm(static_cast<etcdserverpb::AlarmType>(key[8]));
    alarms_.push_back(alarm);
    return true;
  });
}

bool EtcdServer::Alarmed(etcdserverpb::AlarmType type) const {
  std::lock_guard lock(alarms_mu_);
  for (const auto& a : alarms_) {
    if (a.alarm() == type) return true;
  }
  return false;
}

std::vector<etcdserverpb::AlarmMember> EtcdServer::Alarms() const {
  std::lock_guard lock(alarms_mu_);
  return alarms_;
}

// Before proposing a write that adds data: refused while NOSPACE is raised, or when it
// would take the backend over its quota — which raises NOSPACE (etcd's quota check).
base::Status EtcdServer::CheckSpace(int64_t cost_bytes) {
  if (Alarmed(etcdserverpb::NOSPACE)) return NoSpace();
  if (!backend_->CheckQuota(cost_bytes).ok()) {
    RaiseNoSpace();
    return NoSpace();
  }
  return base::Status::Ok();
}

void EtcdServer::Alarm(etcdserverpb::AlarmRequest request, Done<etcdserverpb::AlarmResponse> done) {
  if (request.action() == etcdserverpb::AlarmRequest::GET) {
    etcdserverpb::AlarmResponse response;
    FillHeader(response.mutable_header());
    for (const auto& a : Alarms()) {
      if (request.alarm() == etcdserverpb::NONE || request.alarm() == a.alarm()) *response.add_alarms() = a;
    }
    return done(std::move(response));
  }
  serverpb::InternalRequest internal;
  *internal.mutable_alarm() = std::move(request);
  ProposeAndWait(std::move(internal), std::move(done));
}

etcdserverpb::AlarmResponse EtcdServer::ApplyAlarm(const etcdserverpb::AlarmRequest& request) {
  etcdserverpb::AlarmResponse response;
  std::lock_guard lock(alarms_mu_);
  auto it = std::find_if(alarms_.begin(), alarms_.end(), [&](const etcdserverpb::AlarmMember& a) {
    return a.memberid() == request.memberid() && a.alarm() == request.alarm();
  });
  etcdserverpb::AlarmMember alarm;
  alarm.set_memberid(request.memberid());
  alarm.set_alarm(request.alarm());
  base::Status status;
  if (request.action() == etcdserverpb::AlarmRequest::ACTIVATE && request.alarm() != etcdserverpb::NONE) {
    if (it == alarms_.end()) {
      alarms_.push_back(alarm);
      status = backend_->Put(backend::Bucket::kAlarm, AlarmKey(alarm.memberid(), alarm.alarm()), "");
      base::Log(base::LogLevel::kWarn, "alarm raised",
                {{"member-id", IdHex(alarm.memberid())},
                 {"alarm", etcdserverpb::AlarmType_Name(alarm.alarm())}});
    }
    *response.add_alarms() = alarm;
  } else if (request.action() == etcdserverpb::AlarmRequest::DEACTIVATE && it != alarms_.end()) {
    alarms_.erase(it);
    status = backend_->Delete(backend::Bucket::kAlarm, AlarmKey(alarm.memberid(), alarm.alarm()));
    base::Log(base::LogLevel::kInfo, "alarm disarmed",
              {{"member-id", IdHex(alarm.memberid())},
               {"alarm", etcdserverpb::AlarmType_Name(alarm.alarm())}});
    *response.add_alarms() = alarm;
  }
  ETCPP_ASSERT_MSG(status.ok(), status.ToString().c_str());
  return response;
}

// After applying a write: a member whose backend went over its quota raises NOSPACE
// (once; the write itself stays applied on every member, as in etcd).
void EtcdServer::MaybeRaiseNoSpace() {
  if (!backend_->CheckQuota(0).ok()) RaiseNoSpace();
}

void EtcdServer::RaiseNoSpace() {
  if (nospace_proposed_.exchange(true)) return;
  {
    std::lock_guard lock(alarms_mu_);
    for (const auto& a : alarms_) {
      if (a.alarm() == etcdserverpb::NOSPACE && a.memberid() == member_id_) {
        nospace_proposed_ = false;
        return;
      }
    }
  }
  serverpb::InternalRequest internal;
  auto* alarm = internal.mutable_alarm();
  alarm->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm->set_memberid(member_id_);
  alarm->set_alarm(etcdserverpb::NOSPACE);
  Propose(std::move(internal), [this](base::Result<ApplyResult>) { nospace_proposed_ = false; });
}

}  // namespace etcpp::server
