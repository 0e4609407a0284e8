// Corruption checks between members, as etcd's --experimental-initial-corrupt-check and
// --experimental-corrupt-check-time: members that applied the same log must hold the
// same keys, so their HashKV at one revision must agree unless their compactions differ.
//
//   - On a restart, before serving: this member's hash at its revision against each
//     peer's hash at that revision; a mismatch (same compaction) refuses the start.
//   - On the leader, every --experimental-corrupt-check-time: its hash against the
//     followers'; a mismatch, or a follower ahead of the leader, raises the CORRUPT alarm
//     (for member 0, as etcd 3.4 does), and from then on every member refuses writes with
//     "etcdserver: corrupt cluster" until it is disarmed.
#include <future>
#include <optional>

#include "base/log.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

namespace {

// Waits for an answer that may never come once the member stops (its threads gone).
template <typename T>
std::optional<T> Await(std::future<T> future, const std::atomic<bool>& stopping) {
  while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stopping.load()) return std::nullopt;
  }
  return future.get();
}

base::Status Stopped() { return base::Status(base::Code::kUnavailable, "etcdserver: server stopped"); }

}  // namespace

base::Result<etcdserverpb::HashKVResponse> EtcdServer::HashKVNow(int64_t revision) {
  using Answer = base::Result<etcdserverpb::HashKVResponse>;
  auto answer = std::make_shared<std::promise<Answer>>();
  HashKV(revision, [answer](Answer result) { answer->set_value(std::move(result)); });
  auto got = Await(answer->get_future(), stopping_);
  return got ? std::move(*got) : Answer(Stopped());
}

base::Status EtcdServer::CheckInitialHashKV() {
  base::Log(base::LogLevel::kInfo, "starting initial corruption check",
            {{"local-member-id", IdHex(member_id_)}, {"timeout", std::to_string(RequestTimeout().count()) + "ms"}});
  auto local = HashKVNow(0);
  if (!local.ok()) {
    return base::Status(base::Code::kInternal,
                        IdHex(member_id_) + " failed to fetch hash (" + local.status().message() + ")");
  }
  const int64_t revision = local->header().revision();
  int mismatches = 0;
  for (const auto& [peer, answer] : transport_->PeerHashKVs(revision, RequestTimeout())) {
    if (!answer.ok()) {
      base::Log(base::LogLevel::kWarn, "cannot fetch hash from remote peer",
                {{"local-member-id", IdHex(member_id_)}, {"local-member-revision", revision},
                 {"remote-peer-id", IdHex(peer)}, {"error", answer.status().message()}});
      continue;
    }
    if (answer->hash() == local->hash()) continue;
    bool same_compaction = answer->compact_revision() == local->compact_revision();
    base::Log(base::LogLevel::kWarn,
              same_compaction ? "found different hash values from remote peer"
                              : "found different compact revision values from remote peer",
              {{"local-member-id", IdHex(member_id_)}, {"local-member-revision", revision},
               {"local-member-compact-revision", local->compact_revision()},
               {"local-member-hash", static_cast<uint64_t>(local->hash())},
               {"remote-peer-id", IdHex(peer)},
               {"remote-peer-revision", answer->header().revision()},
               {"remote-peer-compact-revision", answer->compact_revision()},
               {"remote-peer-hash", static_cast<uint64_t>(answer->hash())}});
    if (same_compaction) ++mismatches;
  }
  if (mismatches > 0) {
    return base::Status(base::Code::kCorruption, IdHex(member_id_) + " found data inconsistency with peers");
  }
  base::Log(base::LogLevel::kInfo, "initial corruption checking passed; no corruption",
            {{"local-member-id", IdHex(member_id_)}});
  return base::Status::Ok();
}

void EtcdServer::CorruptChecker() {
  const auto interval = std::chrono::milliseconds(config_.corrupt_check_time_ms);
  if (interval.count() == 0) return;
  base::Log(base::LogLevel::kInfo, "enabled corruption checking",
            {{"local-member-id", IdHex(member_id_)}, {"interval", std::to_string(interval.count()) + "ms"}});
  while (true) {
    {
      std::unique_lock lock(compactor_mu_);
      compactor_cv_.wait_for(lock, interval, [this] { return stopping_.load(); });
      if (stopping_.load()) return;
    }
    if (leader_.load() == member_id_) CheckHashKV();
  }
}

void EtcdServer::CheckHashKV() {
  auto first = HashKVNow(0);
  if (!first.ok()) return;
  const int64_t revision = first->header().revision();
  auto peers = transport_->PeerHashKVs(revision, RequestTimeout());
  // Everything committed before the peers answered is applied here before the second
  // hash, so no follower can rightly be ahead of it.
  auto read = std::make_shared<std::promise<base::Status>>();
  LinearizableRead([read] { read->set_value(base::Status::Ok()); },
                   [read](base::Status status) { read->set_value(std::move(status)); });
  auto status = Await(read->get_future(), stopping_).value_or(Stopped());
  if (!status.ok()) {
    base::Log(base::LogLevel::kWarn, "failed to check hash KV", {{"error", status.message()}});
    return;
  }
  auto second = HashKVNow(0);
  if (!second.ok()) return;
  const int64_t leader_revision = second->header().revision();
  const int64_t leader_compacted = second->compact_revision();
  bool mismatch = false;
  if (second->hash() != first->hash() && leader_revision == revision &&
      leader_compacted == first->compact_revision()) {
    base::Log(base::LogLevel::kWarn, "found hash mismatch",
              {{"revision-1", revision}, {"hash-1", static_cast<uint64_t>(first->hash())},
               {"revision-2", leader_revision}, {"hash-2", static_cast<uint64_t>(second->hash())}});
    mismatch = true;
  }
  int checked = 0;
  for (const auto& [peer, answer] : peers) {
    if (!answer.ok()) continue;
    ++checked;
    const char* why = nullptr;
    if (answer->header().revision() > leader_revision) {
      why = "revision from follower must be less than or equal to leader's";
    } else if (answer->compact_revision() > leader_compacted) {
      why = "compact revision from follower must be less than or equal to leader's";
    } else if (answer->compact_revision() == first->compact_revision() && answer->hash() != first->hash()) {
      why = "same compact revision then hashes must match";
    }
    if (!why) continue;
    base::Log(base::LogLevel::kWarn, why,
              {{"follower-peer-id", IdHex(peer)},
               {"leader-revision", leader_revision},
               {"follower-revision", answer->header().revision()},
               {"leader-compact-revision", leader_compacted},
               {"follower-compact-revision", answer->compact_revision()},
               {"leader-hash", static_cast<uint64_t>(first->hash())},
               {"follower-hash", static_cast<uint64_t>(answer->hash())}});
    mismatch = true;
  }
  base::Log(base::LogLevel::kInfo, "finished peer corruption check", {{"number-of-peers-checked", checked}});
  if (!mismatch || CorruptAlarmed()) return;
  serverpb::InternalRequest internal;
  auto* alarm = internal.mutable_alarm();
  alarm->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm->set_memberid(0);
  alarm->set_alarm(etcdserverpb::CORRUPT);
  Propose(std::move(internal), [](base::Result<ApplyResult> result) {
    if (!result.ok()) {
      base::Log(base::LogLevel::kWarn, "failed to raise the CORRUPT alarm", {{"error", result.status().message()}});
    }
  });
}

}  // namespace etcpp::server
