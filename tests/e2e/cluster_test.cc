// Clusters of real etcpp processes on loopback, driven with Debian's etcdctl: leader
// loss under a write load, catching up from the log and from a snapshot, learners,
// membership changes, full restarts, the loss of two of five, and bad peers.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "tests/e2e/cluster.h"
#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

using Clock = std::chrono::steady_clock;

int Count(const std::string& out, const std::string& what) {
  int n = 0;
  for (size_t at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
  return n;
}

TEST(ClusterE2E, ThreeMembersAgreeAndNameThemselves) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  auto put = cluster.Ctl({"put", "foo", "bar"}, cluster.members_[1].endpoint());
  ASSERT_EQ(put.out, "OK\n") << put.err;
  for (auto& m : cluster.members_) EXPECT_TRUE(cluster.Converges(m, "foo", "bar"));
  // Every member published its name and client URL through raft.
  auto deadline = Clock::now() + std::chrono::seconds(20);
  CommandResult list;
  while (Clock::now() < deadline) {
    list = cluster.Ctl({"member", "list"});
    if (Count(list.out, ", started, m") == 3 && Count(list.out, "http://127.0.0.1:") == 6) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (auto& m : cluster.members_) {
    EXPECT_NE(list.out.find(", " + m.name + ", " + m.peer_url() + ", http://" + m.endpoint()),
              std::string::npos)
        << list.out;
  }

  // move-leader hands leadership to a follower.
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  Member* target = leader == &cluster.members_[0] ? &cluster.members_[1] : &cluster.members_[0];
  std::string target_id = cluster.MemberId(*target);
  auto move = cluster.Ctl({"move-leader", target_id});
  ASSERT_EQ(move.exit_code, 0) << move.err;
  EXPECT_EQ(move.out, "Leadership transferred from " + cluster.MemberId(*leader) + " to " + target_id + "\n");
  EXPECT_EQ(cluster.Leader(), target);
  auto bad = cluster.Ctl({"move-leader", "123456"});
  EXPECT_NE(bad.err.find("etcdserver: bad leader transferee"), std::string::npos) << bad.err;
}

TEST(ClusterE2E, LeaderKilledUnderWriteLoadLosesNoAcknowledgedWrite) {
  Cluster cluster(3);
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  std::string endpoints = cluster.Endpoints();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::vector<int> acknowledged;
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto put = cluster.Ctl({"put", "k" + std::to_string(i), std::to_string(i)}, endpoints);
      if (put.exit_code == 0) {
        acknowledged.push_back(i);
        ++written;
      }
    }
  });
  while (written.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  leader->server->Stop(SIGKILL);
  Member* old_leader = leader;
  leader = cluster.Leader();
  ASSERT_NE(leader, nullptr) << "no new leader";
  EXPECT_NE(leader, old_leader);
  int at_kill = written.load();
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (written.load() < at_kill + 20 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  writer.join();
  ASSERT_GE(written.load(), at_kill + 20) << "writes did not resume";

  // Every acknowledged write is on both survivors, and on the old leader once restarted.
  cluster.Start(*old_leader, "new");
  ASSERT_TRUE(old_leader->server->WaitHealthy(30)) << old_leader->server->Log();
  std::string last = std::to_string(acknowledged.back());
  for (auto& m : cluster.members_) {
    ASSERT_TRUE(cluster.Converges(m, "k" + last, last)) << m.name;
    auto all = cluster.Ctl({"get", "k", "--prefix", "--keys-only", "--consistency=s"}, m.endpoint());
    for (int i : acknowledged) {
      EXPECT_NE(all.out.find("k" + std::to_string(i) + "\n"), std::string::npos)
          << m.name << " lost acknowledged k" << i;
    }
  }
}

TEST(ClusterE2E, FollowerFarBehindCatchesUpFromASnapshot) {
  Cluster cluster(3, {"--snapshot-count", "50", "--experimental-snapshot-catchup-entries", "10"});
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  Member* follower = nullptr;
  for (auto& m : cluster.members_) {
    if (&m != leader) follower = &m;
  }
  follower->server->Stop(SIGKILL);
  for (int i = 0; i < 300; ++i) {
    auto put = cluster.Ctl({"put", "s" + std::to_string(i), "v" + std::to_string(i)});
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }
  cluster.Start(*follower, "new");
  ASSERT_TRUE(follower->server->WaitHealthy(30)) << follower->server->Log();
  ASSERT_TRUE(cluster.Converges(*follower, "s299", "v299")) << follower->server->Log();
  EXPECT_NE(follower->server->Log().find("applied snapshot"), std::string::npos);
  EXPECT_EQ(cluster.CountKeys(*follower, "s"), 300);
  // And it survives a restart on the installed snapshot.
  follower->server->Stop(SIGKILL);
  cluster.Start(*follower, "new");
  ASSERT_TRUE(follower->server->WaitHealthy(30)) << follower->server->Log();
  EXPECT_TRUE(cluster.Converges(*follower, "s150", "v150"));
}

TEST(ClusterE2E, LearnerJoinsIsPromotedAndAMemberIsRemoved) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(cluster.Ctl({"put", "a" + std::to_string(i), "x"}).exit_code, 0);

  Member fourth;
  fourth.name = "m4";
  fourth.peer_port = FreePort();
  fourth.client_port = FreePort();
  TempDir dir;
  fourth.data_dir = dir.path() + "/m4";
  auto add = cluster.Ctl({"member", "add", "m4", "--peer-urls=" + fourth.peer_url(), "--learner"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Member "), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), std::string::npos) << add.out;
  // A second learner is refused while the first exists, as etcd does.
  auto second = cluster.Ctl({"member", "add", "m5", "--peer-urls=http://127.0.0.1:1", "--learner"});
  EXPECT_NE(second.err.find("etcdserver: too many learner members in cluster"), std::string::npos)
      << second.err;
  auto same_url = cluster.Ctl({"member", "add", "m6", "--peer-urls=" + fourth.peer_url()});
  EXPECT_NE(same_url.err.find("etcdserver: Peer URLs already exists"), std::string::npos) << same_url.err;

  cluster.members_.push_back(std::move(fourth));
  Member& learner = cluster.members_.back();
  cluster.Start(learner, "existing");
  ASSERT_TRUE(cluster.Converges(learner, "a19", "x")) << learner.server->Log();
  auto list = cluster.Ctl({"member", "list"});
  EXPECT_NE(list.out.find(", m4, " + learner.peer_url() + ", http://" + learner.endpoint() + ", true"),
            std::string::npos)
      << list.out;

  std::string id = cluster.MemberId(learner);
  ASSERT_FALSE(id.empty()) << list.out;
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  // Asked of a follower, which checks with the leader.
  Member* follower = leader == &cluster.members_[0] ? &cluster.members_[1] : &cluster.members_[0];
  auto promote = cluster.Ctl({"member", "promote", id}, follower->endpoint());
  ASSERT_EQ(promote.exit_code, 0) << promote.err;
  // etcdctl prints ids as %16x: one with a leading zero nibble is space-padded.
  EXPECT_TRUE(promote.out.starts_with("Member ")) << promote.out;
  EXPECT_NE(promote.out.find(" " + id + " promoted in cluster "), std::string::npos) << promote.out;
  list = cluster.Ctl({"member", "list"});
  EXPECT_NE(list.out.find(", m4, " + learner.peer_url() + ", http://" + learner.endpoint() + ", false"),
            std::string::npos)
      << list.out;
  auto again = cluster.Ctl({"member", "promote", id}, leader->endpoint());
  EXPECT_NE(again.err.find("etcdserver: can only promote a learner member"), std::string::npos) << again.err;

  // Removing m1: it stops by itself; the other three carry on.
  Member& first = cluster.members_[0];
  std::string first_id = cluster.MemberId(first);
  auto remove = cluster.Ctl({"member", "remove", first_id}, leader->endpoint() == first.endpoint()
                                                                 ? cluster.members_[1].endpoint()
                                                                 : leader->endpoint());
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (first.server->Running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(first.server->Running()) << first.server->Log();
  auto unknown = cluster.Ctl({"member", "remove", first_id});
  EXPECT_NE(unknown.err.find("etcdserver: member not found"), std::string::npos) << unknown.err;
  auto after = cluster.Ctl({"put", "after", "removal"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  for (size_t i = 1; i < cluster.members_.size(); ++i) {
    EXPECT_TRUE(cluster.Converges(cluster.members_[i], "after", "removal"));
  }
  EXPECT_EQ(Count(cluster.Ctl({"member", "list"}).out, ", started, "), 3);
}

TEST(ClusterE2E, AllMembersRestartFromDisk) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(cluster.Ctl({"put", "r" + std::to_string(i), std::to_string(i)}).exit_code, 0);
  }
  for (auto& m : cluster.members_) EXPECT_EQ(m.server->Stop(SIGINT), 0) << m.server->Log();
  for (auto& m : cluster.members_) cluster.Start(m, "new");
  for (auto& m : cluster.members_) ASSERT_TRUE(m.server->WaitHealthy(30)) << m.server->Log();
  for (auto& m : cluster.members_) {
    EXPECT_TRUE(cluster.Converges(m, "r49", "49"));
    EXPECT_EQ(cluster.CountKeys(m, "r"), 50);
  }
}

TEST(ClusterE2E, FiveMembersSurviveTheLossOfTwo) {
  Cluster cluster(5);
  Member* leader = cluster.Leader();
  ASSERT_NE(leader, nullptr);
  // The leader and one follower.
  leader->server->Stop(SIGKILL);
  for (auto& m : cluster.members_) {
    if (m.server->Running()) {
      m.server->Stop(SIGKILL);
      break;
    }
  }
  ASSERT_NE(cluster.Leader(), nullptr);
  auto put = cluster.Ctl({"put", "five", "three"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto get = cluster.Ctl({"get", "five", "--print-value-only"});
  EXPECT_EQ(get.out, "three\n");
}

TEST(ClusterE2E, WithoutAQuorumRequestsFailWithNoLeader) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  cluster.members_[0].server->Stop(SIGKILL);
  cluster.members_[1].server->Stop(SIGKILL);
  auto put = cluster.Ctl({"put", "lonely", "x"}, cluster.members_[2].endpoint());
  EXPECT_EQ(put.exit_code, 1);
  EXPECT_NE(put.err.find("Error: etcdserver: no leader"), std::string::npos) << put.err;
  // etcdctl retries reads that fail with UNAVAILABLE until its own deadline; each
  // attempt was told there is no leader.
  auto get = cluster.Ctl({"get", "lonely"}, cluster.members_[2].endpoint());
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_NE(get.err.find("desc = etcdserver: no leader"), std::string::npos) << get.err;
  // A serializable read is answered locally.
  auto local = cluster.Ctl({"get", "lonely", "--consistency=s"}, cluster.members_[2].endpoint());
  EXPECT_EQ(local.exit_code, 0) << local.err;
}

TEST(ClusterE2E, GarbageOnThePeerPortIsLoggedAndHarmless) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  Member& m = cluster.members_[0];
  auto sent = e2e::Run({"bash", "-c",
                   "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(m.peer_port) +
                       "; printf 'GARBAGE\\x00\\x01\\x02 not a protocol\\r\\n\\r\\n' >&3; "
                       "timeout 5 cat <&3 >/dev/null; true"});
  EXPECT_EQ(sent.exit_code, 0);
  EXPECT_TRUE(m.server->Running());
  EXPECT_NE(m.server->Log().find("closing a connection that sent a malformed request"),
            std::string::npos);
  ASSERT_EQ(cluster.Ctl({"put", "still", "fine"}, m.endpoint()).exit_code, 0);
  EXPECT_TRUE(cluster.Converges(m, "still", "fine"));
}

TEST(ClusterE2E, AMemberOfAnotherClusterIsRefused) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  // A stranger that believes m1's peer URL is its partner, in a cluster of another token.
  TempDir dir;
  int peer = FreePort();
  std::string stranger_url = "http://127.0.0.1:" + std::to_string(peer);
  Server stranger(Server::Kind::kEtcpp, dir.path() + "/x",
                  {"--initial-cluster", "x=" + stranger_url + ",m1=" + cluster.members_[0].peer_url(),
                   "--initial-cluster-token", "another"},
                  peer, "x", 0, /*wait=*/false);
  auto deadline = Clock::now() + std::chrono::seconds(20);
  Member& m1 = cluster.members_[0];
  while (m1.server->Log().find("request cluster ID mismatch") == std::string::npos &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(m1.server->Log().find("request cluster ID mismatch"), std::string::npos);
  EXPECT_TRUE(m1.server->Running());
  ASSERT_EQ(cluster.Ctl({"put", "ours", "only"}).exit_code, 0);
  auto members = cluster.Ctl({"member", "list"});
  EXPECT_EQ(Count(members.out, ", started, "), 3) << members.out;
}

}  // namespace
}  // namespace etcpp::e2e
