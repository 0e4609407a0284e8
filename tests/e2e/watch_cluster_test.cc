// Watch guarantees on a 3-member etcpp cluster under member loss: writers put, txn (two
// puts and a delete in one revision) and delete through every member while watchers of
// several ranges, from revision 1, from a past revision and from now, follow on different
// members. A follower and then the leader are killed with SIGKILL mid-stream and
// restarted; a watcher whose stream ends resumes on the next member at the last revision
// it received + 1 (tests/chaos/watcher.h). Every watcher must have seen exactly the
// committed history of its range from its start, each revision once, whole and in order
// (tests/chaos/watch_checker.h), and every member must hold that same history.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/chaos/watch_checker.h"
#include "tests/chaos/watcher.h"
#include "tests/e2e/cluster.h"

namespace etcpp::e2e {
namespace {

using chaos::WatchEvent;
using Clock = std::chrono::steady_clock;

// Writes under w/<id>/ through member `first`, moving on to the next member whenever a
// request fails (its member is down, or lost its leader). Records the events of every
// acknowledged write.
class Writer {
 public:
  Writer(std::vector<std::string> endpoints, int id, size_t first)
      : endpoints_(std::move(endpoints)), id_(id), member_(first) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_.load(); }
  const std::vector<WatchEvent>& events() const { return events_; }  // after Stop

 private:
  void Run() {
    for (int op = 0; !stop_.load(); ++op) {
      auto kv = etcdserverpb::KV::NewStub(
          grpc::CreateChannel(endpoints_[member_], grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      std::string prefix = "w/" + std::to_string(id_) + "/";
      std::string key = prefix + "k" + std::to_string(op % 4), value = std::to_string(op);
      etcdserverpb::TxnRequest txn;  // every write is a txn: one revision, one or more events
      std::vector<WatchEvent> made;
      if (op % 3 == 0) {
        auto* put = txn.add_success()->mutable_request_put();
        put->set_key(key);
        put->set_value(value);
        made.push_back({WatchEvent::Type::kPut, key, value, 0});
      } else if (op % 3 == 1) {
        for (const std::string& k : {prefix + "a", prefix + "b"}) {
          auto* put = txn.add_success()->mutable_request_put();
          put->set_key(k);
          put->set_value(value);
          made.push_back({WatchEvent::Type::kPut, k, value, 0});
        }
        txn.add_success()->mutable_request_delete_range()->set_key(key);
      } else {
        txn.add_success()->mutable_request_delete_range()->set_key(prefix + "a");
      }
      etcdserverpb::TxnResponse response;
      if (!kv->Txn(&context, txn, &response).ok()) {
        member_ = (member_ + 1) % endpoints_.size();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      for (auto& e : made) {
        e.revision = response.header().revision();
        events_.push_back(e);
      }
      ++acknowledged_;
    }
  }

  const std::vector<std::string> endpoints_;
  const int id_;
  size_t member_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  std::vector<WatchEvent> events_;
  std::thread thread_;
};

// The member endpoints starting at member `first`: where a watcher starts and in which
// order it moves on.
std::vector<std::string> From(const Cluster& cluster, size_t first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < cluster.members_.size(); ++i)
    out.push_back(cluster.members_[(first + i) % cluster.members_.size()].endpoint());
  return out;
}

std::vector<WatchEvent> Under(const std::vector<WatchEvent>& history, const std::string& prefix) {
  std::vector<WatchEvent> out;
  for (const auto& e : history)
    if (e.key.starts_with(prefix)) out.push_back(e);
  return out;
}

TEST(WatchClusterE2E, WatchersResumeAcrossMemberKillsWithExactlyTheCommittedHistory) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  auto total = [](const std::vector<std::unique_ptr<Writer>>& writers) {
    int n = 0;
    for (const auto& w : writers) n += w->acknowledged();
    return n;
  };
  // Waits (up to a generous 90 s on a loaded machine) until `more` writes were
  // acknowledged after this call.
  std::vector<std::unique_ptr<Writer>> writers;
  auto progress = [&](int more) {
    int target = total(writers) + more;
    auto deadline = Clock::now() + std::chrono::seconds(90);
    while (total(writers) < target && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return total(writers) >= target;
  };

  struct Watch {
    std::string prefix;
    std::unique_ptr<chaos::Watcher> watcher;
  };
  std::vector<Watch> watches;
  auto watch = [&](const std::string& prefix, size_t member, int64_t start) {
    watches.push_back(
        {prefix, std::make_unique<chaos::Watcher>(From(cluster, member), prefix, start)});
    watches.back().watcher->Start();
  };
  watch("w/", 0, 1);
  watch("w/", 1, 0);
  watch("w/1/", 2, 0);
  watch("w/2/", 1, 1);
  for (int i = 0; i < 3; ++i) writers.push_back(std::make_unique<Writer>(From(cluster, 0), i, i));
  ASSERT_TRUE(progress(30));
  // From a past revision: history, then live.
  watch("w/", 2, 10);
  watch("w/0/", 0, 20);

  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  Member* follower = leader == &cluster.members_[0] ? &cluster.members_[1] : &cluster.members_[0];
  follower->server->Stop(SIGKILL);
  ASSERT_TRUE(progress(30)) << "writes stopped after a follower's loss";
  cluster.Start(*follower, "new");
  ASSERT_TRUE(follower->server->WaitHealthy(60)) << follower->server->Log();
  ASSERT_TRUE(progress(30));

  leader->server->Stop(SIGKILL);
  ASSERT_TRUE(progress(30)) << "writes stopped after the leader's loss";
  cluster.Start(*leader, "new");
  ASSERT_TRUE(leader->server->WaitHealthy(60)) << leader->server->Log();
  ASSERT_TRUE(progress(30));
  for (auto& w : writers) w->Stop();

  // A last write under w/ marks the end of the history every watcher must reach.
  auto kv = etcdserverpb::KV::NewStub(
      grpc::CreateChannel(cluster.members_[0].endpoint(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  etcdserverpb::PutRequest put;
  put.set_key("w/end");
  etcdserverpb::PutResponse put_response;
  ASSERT_TRUE(kv->Put(&context, put, &put_response).ok());
  int64_t until = put_response.header().revision();

  // Every member holds the same history, and it has every acknowledged write.
  std::vector<WatchEvent> history;
  ASSERT_TRUE(chaos::Reference(cluster.members_[0].endpoint(), "w/", until, history));
  for (size_t i = 1; i < cluster.members_.size(); ++i) {
    std::vector<WatchEvent> other;
    ASSERT_TRUE(chaos::Reference(cluster.members_[i].endpoint(), "w/", until, other));
    EXPECT_TRUE(other == history) << cluster.members_[i].name << " holds another history";
  }
  for (const auto& w : writers) {
    for (const auto& e : w->events()) {
      EXPECT_NE(std::find(history.begin(), history.end(), e), history.end())
          << "acknowledged write missing: " << chaos::Format(e);
    }
  }

  size_t sessions = 0;
  for (auto& w : watches) {
    auto expected = Under(history, w.prefix);
    w.watcher->Stop(expected.back().revision, 90);
    auto result = chaos::CheckWatch(expected, w.watcher->sessions(), /*expect_complete=*/true);
    EXPECT_TRUE(result.ok()) << w.prefix << ": " << result.Explain();
    EXPECT_GT(result.events_checked, 0) << w.prefix;
    sessions += w.watcher->sessions().size();
  }
  // The kills cut streams: some watchers resumed (on another member or the restarted one).
  EXPECT_GT(sessions, watches.size());
}

}  // namespace
}  // namespace etcpp::e2e
