// Pending ReadIndex requests and their heartbeat acknowledgements (see read_only.h).
#include "raft/read_only.h"

#include "base/assert.h"

namespace etcpp::raft {

bool ReadOnly::Add(uint64_t index, uint64_t from, const std::string& context) {
  if (pending_.count(context) != 0) return false;
  pending_.emplace(context,
                   std::make_pair(ReadIndexRequest{context, from, index}, std::set<uint64_t>{}));
  queue_.push_back(context);
  return true;
}

const std::set<uint64_t>* ReadOnly::RecordAck(uint64_t id, const std::string& context) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.second.insert(id);
  return &it->second.second;
}

std::vector<ReadIndexRequest> ReadOnly::ReleaseThrough(const std::string& context) {
  std::vector<ReadIndexRequest> out;
  if (pending_.count(context) == 0) return out;
  while (!queue_.empty()) {
    std::string ctx = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(ctx);
    ETCPP_ASSERT(it != pending_.end());
    out.push_back(std::move(it->second.first));
    pending_.erase(it);
    if (ctx == context) break;
  }
  return out;
}

const std::string* ReadOnly::LastPendingContext() const {
  return queue_.empty() ? nullptr : &queue_.back();
}

void ReadOnly::Clear() {
  queue_.clear();
  pending_.clear();
}

}  // namespace etcpp::raft
