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

#include "mvccpb/kv.pb.h"
#include "storage/backend/backend.h"
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
  auto add = cluster.Reconfigure({"member", "add", "m4", "--peer-urls=" + fourth.peer_url(), "--learner"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Member "), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), std::string::npos) << add.out;
  // A second learner is refused while the first exists, as etcd does.
  auto second = cluster.Reconfigure({"member", "add", "m5", "--peer-urls=http://127.0.0.1:1", "--learner"});
  EXPECT_NE(second.err.find("etcdserver: too many learner members in cluster"), std::string::npos)
      << second.err;
  auto same_url = cluster.Reconfigure({"member", "add", "m6", "--peer-urls=" + fourth.peer_url()});
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
  auto remove = cluster.Reconfigure({"member", "remove", first_id},
                                    leader->endpoint() == first.endpoint() ? cluster.members_[1].endpoint()
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

// --strict-reconfig-check (on by default, as in etcd): a change that could cost the
// cluster its quorum is refused.
TEST(ClusterE2E, StrictReconfigCheckRefusesChangesThatRiskTheQuorum) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  Member& m1 = cluster.members_[0];
  Member& m3 = cluster.members_[2];
  std::string m2_id = cluster.MemberId(cluster.members_[1]);
  std::string m3_id = cluster.MemberId(m3);
  ASSERT_FALSE(m3_id.empty());
  m3.server->Stop(SIGKILL);
  ASSERT_TRUE(cluster.SeesInactive(m1, m3_id)) << m1.server->Log();

  // m1 is not connected to every voter: no member may be added, not even a learner.
  std::string nowhere = "--peer-urls=http://127.0.0.1:" + std::to_string(FreePort());
  for (auto learner : {false, true}) {
    std::vector<std::string> args = {"member", "add", "m4", nowhere};
    if (learner) args.push_back("--learner");
    auto add = cluster.Ctl(args, m1.endpoint());
    EXPECT_NE(add.exit_code, 0);
    EXPECT_NE(add.err.find("etcdserver: unhealthy cluster"), std::string::npos) << add.err;
  }
  // Removing a running voter would leave m1 alone with a dead member.
  auto remove_live = cluster.Ctl({"member", "remove", m2_id}, m1.endpoint());
  EXPECT_NE(remove_live.err.find("etcdserver: unhealthy cluster"), std::string::npos) << remove_live.err;
  // Removing the dead one is safe.
  auto remove_dead = cluster.Ctl({"member", "remove", m3_id}, m1.endpoint());
  ASSERT_EQ(remove_dead.exit_code, 0) << remove_dead.err;
  EXPECT_NE(remove_dead.out.find(" removed from cluster "), std::string::npos) << remove_dead.out;
  auto put = cluster.Ctl({"put", "still", "serving"}, m1.endpoint());
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(Count(cluster.Ctl({"member", "list"}, m1.endpoint()).out, ", started, "), 2);
}

TEST(ClusterE2E, StrictReconfigCheckRefusesChangesWithTooFewStartedMembers) {
  // Without the check, two members that never start are added: 3 of 5 voters run.
  Cluster cluster(3, {"--strict-reconfig-check=false"});
  ASSERT_NE(cluster.Leader(), nullptr);
  for (const char* name : {"m4", "m5"}) {
    auto add = cluster.Reconfigure({"member", "add", name, "--peer-urls=http://127.0.0.1:" + std::to_string(FreePort())});
    ASSERT_EQ(add.exit_code, 0) << add.err;
  }
  // m1 comes back with the check on (etcd's default).
  Member& m1 = cluster.members_[0];
  ASSERT_EQ(m1.server->Stop(SIGINT), 0);
  cluster.extra_ = {};
  cluster.Start(m1, "new");
  ASSERT_TRUE(m1.server->WaitHealthy(30)) << m1.server->Log();
  auto add = cluster.Ctl({"member", "add", "m6", "--peer-urls=http://127.0.0.1:" + std::to_string(FreePort())},
                         m1.endpoint());
  EXPECT_NE(add.err.find("etcdserver: re-configuration failed due to not enough started members"),
            std::string::npos)
      << add.err;
  auto remove = cluster.Ctl({"member", "remove", cluster.MemberId(cluster.members_[1])}, m1.endpoint());
  EXPECT_NE(remove.err.find("etcdserver: re-configuration failed due to not enough started members"),
            std::string::npos)
      << remove.err;
  EXPECT_EQ(Count(cluster.Ctl({"member", "list"}, m1.endpoint()).out, ", unstarted, "), 2);
}

// A member that was away (paused) while the others removed it never receives its own
// removal; the peers refuse it when it comes back, and it stops, as etcd's do.
TEST(ClusterE2E, AMemberRemovedWhileAwayStopsWhenItReturns) {
  Cluster cluster(3);
  ASSERT_NE(cluster.Leader(), nullptr);
  Member& m1 = cluster.members_[0];
  Member& m2 = cluster.members_[1];
  std::string m1_id = cluster.MemberId(m1);
  ASSERT_FALSE(m1_id.empty());
  m1.server->Pause();
  ASSERT_TRUE(cluster.SeesInactive(m2, m1_id)) << m2.server->Log();
  auto remove = cluster.Reconfigure({"member", "remove", m1_id}, m2.endpoint());
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  m1.server->Resume();
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (m1.server->Running() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(m1.server->Running()) << m1.server->Log();
  EXPECT_NE(m1.server->Log().find("the member has been permanently removed from the cluster"), std::string::npos);
  auto put = cluster.Ctl({"put", "after", "removal"}, m2.endpoint());
  EXPECT_EQ(put.exit_code, 0) << put.err;
}

// Changes the value in the newest record of a stopped member's backend behind etcpp's
// back, as a bad disk or a bug might: the record still parses, only its bytes differ.
void CorruptNewestRecord(const std::string& data_dir) {
  backend::Config config;
  config.dir = data_dir + "/member/backend";
  auto backend = backend::Backend::Open(config);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  std::string key, value;
  auto scanned = (*backend)->ForEachForWrite(backend::Bucket::kKey, "", "", [&](std::string_view k, std::string_view v) {
    key = k;
    value = v;
    return true;
  });
  ASSERT_TRUE(scanned.ok() && !key.empty());
  mvccpb::KeyValue kv;
  ASSERT_TRUE(kv.ParseFromString(value));
  kv.set_value(kv.value() + " (corrupted)");
  ASSERT_TRUE((*backend)->Put(backend::Bucket::kKey, key, kv.SerializeAsString()).ok());
  ASSERT_TRUE((*backend)->Commit().ok());
}

TEST(ClusterE2E, CorruptionIsRefusedAtStartAndAlarmedByTheLeader) {
  const std::vector<std::string> periodic = {"--experimental-corrupt-check-time", "1s"};
  Cluster cluster(3, periodic);
  ASSERT_NE(cluster.Leader(), nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(cluster.Ctl({"put", "c" + std::to_string(i), "v"}).exit_code, 0);
  Member& m3 = cluster.members_[2];
  ASSERT_TRUE(cluster.Converges(m3, "c9", "v"));
  // A healthy cluster raises nothing.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(cluster.Ctl({"alarm", "list"}).out, "");
  ASSERT_EQ(m3.server->Stop(SIGINT), 0);
  CorruptNewestRecord(m3.data_dir);

  // With the initial check, the corrupted member refuses to start.
  cluster.extra_ = periodic;
  cluster.extra_.push_back("--experimental-initial-corrupt-check");
  cluster.Start(m3, "new");
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (m3.server->Running() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(m3.server->Running()) << m3.server->Log();
  EXPECT_NE(m3.server->Stop(SIGKILL), 0);
  EXPECT_NE(m3.server->Log().find("found data inconsistency with peers"), std::string::npos) << m3.server->Log();

  // Without it, it starts; the leader's periodic check raises CORRUPT and writes stop.
  cluster.extra_ = periodic;
  // (Not waited on for health: the alarm may be up before it answers, and /health then
  // says false.)
  cluster.Start(m3, "new");
  CommandResult alarms;
  deadline = Clock::now() + std::chrono::seconds(30);
  while (alarms.out.find("alarm:CORRUPT") == std::string::npos && Clock::now() < deadline) {
    alarms = cluster.Ctl({"alarm", "list"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // Raised for member 0, as etcd 3.4 does; etcdctl leaves the zero id out.
  EXPECT_EQ(alarms.out, "alarm:CORRUPT \n");
  EXPECT_TRUE(m3.server->Running()) << m3.server->Log();
  EXPECT_EQ(e2e::Run({"curl", "-s", "http://" + cluster.members_[0].endpoint() + "/health"}).out,
            R"({"health":"false","reason":"ALARM CORRUPT"})");
  auto put = cluster.Ctl({"put", "after", "corruption"});
  EXPECT_NE(put.exit_code, 0);
  EXPECT_NE(put.err.find("etcdserver: corrupt cluster"), std::string::npos) << put.err;
  auto get = cluster.Ctl({"get", "c0", "--print-value-only"});
  EXPECT_EQ(get.out, "v\n") << get.err << "reads still pass";
}

}  // namespace
}  // namespace etcpp::e2e
