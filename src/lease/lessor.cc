#include "lease/lessor.h"

#include <algorithm>
#include <cmath>

namespace etcpp::lease {
namespace {

using base::Code;
using base::Status;

Status ErrNotFound() { return Status(Code::kNotFound, "etcdserver: requested lease not found"); }

std::string Uint64Key(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

int64_t ReadInt64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return static_cast<int64_t>(v);
}

constexpr size_t kRecordBytes = 24;

}  // namespace

Status Config::Validate() const {
  if (min_ttl_seconds < 1) return Status(Code::kInvalidArgument, "lease: min_ttl_seconds must be >= 1");
  if (checkpoint_interval.count() <= 0 || revoke_retry_interval.count() <= 0) {
    return Status(Code::kInvalidArgument, "lease: intervals must be positive");
  }
  if (revokes_per_call_max == 0) return Status(Code::kInvalidArgument, "lease: revokes_per_call_max is 0");
  return Status::Ok();
}

int64_t MinTtlSeconds(int64_t election_timeout_ms, int64_t heartbeat_interval_ms) {
  // etcd counts in whole ticks: (3 * election ticks / 2) heartbeats, rounded up to a second.
  int64_t election_ticks = election_timeout_ms / heartbeat_interval_ms;
  int64_t ms = (3 * election_ticks) / 2 * heartbeat_interval_ms;
  return std::max<int64_t>(1, (ms + 999) / 1000);
}

base::Result<std::unique_ptr<Lessor>> Lessor::Open(backend::Backend* backend, Config config) {
  ETCPP_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Lessor> lessor(new Lessor(backend, config));
  ETCPP_RETURN_IF_ERROR(lessor->Reload());
  return lessor;
}

Status Lessor::Reload() {
  auto read = backend_->Read();
  if (!read.ok()) return read.status();
  std::lock_guard lock(mu_);
  leases_.clear();
  expiries_.clear();
  Status bad;
  ETCPP_RETURN_IF_ERROR(read->ForEach(
      backend::Bucket::kLease, "", "", [&](std::string_view key, std::string_view value) {
        if (key.size() != 8 || value.size() != kRecordBytes || ReadInt64(value) != ReadInt64(key)) {
          bad = Status(Code::kCorruption, "lease: malformed record in the lease bucket");
          return false;
        }
        Lease lease;
        lease.ttl = std::max(ReadInt64(value.substr(8)), config_.min_ttl_seconds);
        lease.remaining_ttl = ReadInt64(value.substr(16));
        leases_.emplace(ReadInt64(key), std::move(lease));
        return true;
      }));
  return bad;
}

Status Lessor::Persist(LeaseId id, const Lease& lease) {
  std::string value = Uint64Key(static_cast<uint64_t>(id)) + Uint64Key(static_cast<uint64_t>(lease.ttl)) +
                      Uint64Key(static_cast<uint64_t>(lease.remaining_ttl));
  return backend_->Put(backend::Bucket::kLease, Uint64Key(static_cast<uint64_t>(id)), value);
}

void Lessor::SetExpiry(LeaseId id, Lease& lease, Clock::time_point expiry) {
  expiries_.erase({lease.expiry, id});
  lease.expiry = expiry;
  if (expiry != Clock::time_point::max()) expiries_.insert({expiry, id});
}

int64_t Lessor::RemainingSeconds(const Lease& lease, Clock::time_point now) {
  if (lease.expiry == Clock::time_point::max()) return lease.ttl;
  if (lease.expiry <= now) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(lease.expiry - now).count();
}

base::Result<int64_t> Lessor::Grant(LeaseId id, int64_t ttl_seconds, Clock::time_point now) {
  // etcd never grants id 0 (NoLease); the server always fills one in before proposing.
  if (id == 0) return ErrNotFound();
  if (ttl_seconds > kMaxTtlSeconds) return Status(Code::kOutOfRange, "etcdserver: too large lease TTL");
  std::lock_guard lock(mu_);
  if (leases_.count(id)) return Status(Code::kFailedPrecondition, "etcdserver: lease already exists");
  Lease lease;
  lease.ttl = std::max(ttl_seconds, config_.min_ttl_seconds);
  ETCPP_RETURN_IF_ERROR(Persist(id, lease));
  Lease& stored = leases_.emplace(id, std::move(lease)).first->second;
  if (primary_) SetExpiry(id, stored, now + std::chrono::seconds(stored.ttl));
  return stored.ttl;
}

base::Result<std::vector<std::string>> Lessor::Revoke(LeaseId id) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrNotFound();
  ETCPP_RETURN_IF_ERROR(backend_->Delete(backend::Bucket::kLease, Uint64Key(static_cast<uint64_t>(id))));
  std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  SetExpiry(id, it->second, Clock::time_point::max());
  leases_.erase(it);
  return keys;
}

Status Lessor::Checkpoint(LeaseId id, int64_t remaining_ttl) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return Status::Ok();
  // Only recorded: the expiry changes when a member is promoted (etcd's rule), so a
  // checkpoint never shortens a lease the current leader is timing.
  it->second.remaining_ttl = remaining_ttl;
  return Persist(id, it->second);
}

bool Lessor::Exists(LeaseId id) const {
  std::lock_guard lock(mu_);
  return leases_.count(id) > 0;
}

bool Lessor::Attach(LeaseId id, const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return false;
  it->second.keys.insert(key);
  return true;
}

void Lessor::Promote(Clock::time_point now, std::chrono::milliseconds extend) {
  std::lock_guard lock(mu_);
  primary_ = true;
  next_checkpoint_ = now + config_.checkpoint_interval;
  for (auto& [id, lease] : leases_) {
    int64_t ttl = lease.remaining_ttl > 0 ? lease.remaining_ttl : lease.ttl;
    lease.revoke_retry = {};
    SetExpiry(id, lease, now + extend + std::chrono::seconds(ttl));
  }
}

void Lessor::Demote() {
  std::lock_guard lock(mu_);
  primary_ = false;
  for (auto& [id, lease] : leases_) SetExpiry(id, lease, Clock::time_point::max());
}

bool Lessor::primary() const {
  std::lock_guard lock(mu_);
  return primary_;
}

base::Result<int64_t> Lessor::Renew(LeaseId id, Clock::time_point now, bool* clear_checkpoint) {
  std::lock_guard lock(mu_);
  if (!primary_) return Status(Code::kFailedPrecondition, "etcdserver: not leader");
  auto it = leases_.find(id);
  // An expired lease is as good as revoked: its revoke is on its way through raft.
  if (it == leases_.end() || it->second.expiry <= now) return ErrNotFound();
  SetExpiry(id, it->second, now + std::chrono::seconds(it->second.ttl));
  *clear_checkpoint = it->second.remaining_ttl > 0;
  return it->second.ttl;
}

std::vector<LeaseId> Lessor::TakeExpired(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<LeaseId> due;
  if (!primary_) return due;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now;) {
    if (due.size() == config_.revokes_per_call_max) break;
    auto [expiry, id] = *it++;
    Lease& lease = leases_.at(id);
    if (lease.revoke_retry > now) continue;
    lease.revoke_retry = now + config_.revoke_retry_interval;
    due.push_back(id);
  }
  return due;
}

std::vector<Checkpoint> Lessor::TakeCheckpoints(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<lease::Checkpoint> out;
  if (!primary_ || now < next_checkpoint_) return out;
  next_checkpoint_ = now + config_.checkpoint_interval;
  for (const auto& [id, lease] : leases_) {
    if (lease.expiry <= now) continue;
    int64_t remaining =
        static_cast<int64_t>(std::ceil(std::chrono::duration<double>(lease.expiry - now).count()));
    if (remaining < lease.ttl) out.push_back({id, remaining});
  }
  return out;
}

base::Result<LeaseStatus> Lessor::TimeToLive(LeaseId id, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrNotFound();
  LeaseStatus status{id, it->second.ttl, RemainingSeconds(it->second, now), {}};
  status.keys.assign(it->second.keys.begin(), it->second.keys.end());
  return status;
}

std::vector<LeaseStatus> Lessor::Leases(Clock::time_point now) const {
  std::vector<std::pair<Clock::time_point, LeaseStatus>> sorted;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, lease] : leases_) {
      sorted.push_back({lease.expiry, {id, lease.ttl, RemainingSeconds(lease, now), {}}});
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<LeaseStatus> out;
  for (auto& [expiry, status] : sorted) out.push_back(std::move(status));
  return out;
}

}  // namespace etcpp::lease
