// Automatic compaction (--auto-compaction-mode, --auto-compaction-retention), run by the
// leader only, through raft like a client's Compact:
//   periodic  keeps the last `retention` of history: every retention/10 (or every
//             retention when it is under an hour, as etcd) it compacts to the revision
//             that was current `retention` ago;
//   revision  keeps the last `retention` revisions, checked every 5 minutes.
#include <deque>

#include "base/log.h"
#include "server/member.h"
#include "server/server.h"

namespace etcpp::server {

void EtcdServer::Compactor() {
  using Clock = std::chrono::steady_clock;
  const uint64_t retention = config_.AutoCompactionRetention();
  if (retention == 0) return;
  const bool periodic = config_.auto_compaction_mode == "periodic";
  const auto interval = periodic ? std::chrono::milliseconds(retention >= 3600 * 1000 ? retention / 10 : retention)
                                 : std::chrono::milliseconds(5 * 60 * 1000);
  // Periodic: the revision seen at each interval, oldest first.
  std::deque<std::pair<Clock::time_point, int64_t>> seen;
  int64_t compacted = 0;
  auto next = Clock::now() + interval;
  std::unique_lock lock(compactor_mu_);
  while (!stopping_.load()) {
    compactor_cv_.wait_until(lock, next, [this] { return stopping_.load(); });
    if (stopping_.load()) break;
    auto now = Clock::now();
    next = now + interval;
    int64_t target = 0;
    if (periodic) {
      seen.emplace_back(now, store_->Rev());
      while (seen.size() > 1 && now - seen[1].first >= std::chrono::milliseconds(retention)) {
        seen.pop_front();
      }
      if (now - seen.front().first >= std::chrono::milliseconds(retention)) target = seen.front().second;
    } else {
      target = store_->Rev() - static_cast<int64_t>(retention);
    }
    if (leader_.load() != member_id_ || target <= compacted || target <= 1) continue;
    etcdserverpb::CompactionRequest request;
    request.set_revision(target);
    Compact(request, [target](base::Result<etcdserverpb::CompactionResponse> result) {
      if (result.ok()) {
        base::Log(base::LogLevel::kInfo, "completed auto compaction", {{"compact-revision", target}});
      } else {
        base::Log(base::LogLevel::kWarn, "auto compaction failed",
                  {{"compact-revision", target}, {"error", result.status().message()}});
      }
    });
    compacted = target;
  }
}

}  // namespace etcpp::server
