// Lessor rules on a real LMDB backend in a fresh directory per test; time is driven by
// the test (no sleeps).
#include "lease/lessor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace etcpp::lease {
namespace {

using namespace std::chrono_literals;

class LessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("etcpp_lease_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    lessor_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Commits, closes and opens backend and lessor again: a member restart.
  void Reopen() {
    if (backend_) {
      ASSERT_TRUE(backend_->Commit().ok());
    }
    lessor_.reset();
    backend_.reset();
    backend::Config config;
    config.dir = dir_.string();
    backend_ = std::move(backend::Backend::Open(config).value());
    Config lease_config;
    lease_config.min_ttl_seconds = 2;
    lease_config.checkpoint_interval = 60s;
    lessor_ = std::move(Lessor::Open(backend_.get(), lease_config).value());
  }

  std::filesystem::path dir_;
  std::unique_ptr<backend::Backend> backend_;
  std::unique_ptr<Lessor> lessor_;
  Clock::time_point t0_ = Clock::now();
};

TEST(MinTtl, IsOneAndAHalfElectionTimeoutsRoundedUpToSeconds) {
  EXPECT_EQ(MinTtlSeconds(1000, 100), 2);   // etcd's defaults: 1.5 s → 2
  EXPECT_EQ(MinTtlSeconds(5000, 500), 8);   // 7.5 s → 8
  EXPECT_EQ(MinTtlSeconds(200, 100), 1);    // 0.3 s → 1
  EXPECT_EQ(MinTtlSeconds(1050, 100), 2);   // whole ticks: 10 ticks, not 10.5
}

TEST_F(LessorTest, GrantRaisesSmallTtlsAndRefusesDuplicatesAndHugeOnes) {
  EXPECT_EQ(lessor_->Grant(1, 1, t0_).value(), 2);
  EXPECT_EQ(lessor_->Grant(2, 60, t0_).value(), 60);
  EXPECT_EQ(lessor_->Grant(1, 60, t0_).status().message(), "etcdserver: lease already exists");
  EXPECT_EQ(lessor_->Grant(3, kMaxTtlSeconds + 1, t0_).status().message(),
            "etcdserver: too large lease TTL");
  EXPECT_TRUE(lessor_->Grant(3, kMaxTtlSeconds, t0_).ok());
  EXPECT_FALSE(lessor_->Grant(0, 60, t0_).ok());
}

TEST_F(LessorTest, RevokeReturnsSortedKeysAndForgetsTheLease) {
  ASSERT_TRUE(lessor_->Grant(7, 60, t0_).ok());
  EXPECT_TRUE(lessor_->Attach(7, "b"));
  EXPECT_TRUE(lessor_->Attach(7, "a"));
  EXPECT_FALSE(lessor_->Attach(8, "a"));
  EXPECT_EQ(lessor_->Revoke(7).value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(lessor_->Exists(7));
  EXPECT_EQ(lessor_->Revoke(7).status().message(), "etcdserver: requested lease not found");
}

TEST_F(LessorTest, LeasesSurviveARestartWithoutTheirExpiry) {
  ASSERT_TRUE(lessor_->Grant(7, 30, t0_).ok());
  ASSERT_TRUE(lessor_->Grant(8, 40, t0_).ok());
  ASSERT_TRUE(lessor_->Revoke(8).ok());
  ASSERT_TRUE(lessor_->Checkpoint(7, 12).ok());
  Reopen();
  EXPECT_TRUE(lessor_->Exists(7));
  EXPECT_FALSE(lessor_->Exists(8));
  // A restarted member is a follower: nothing expires until it is promoted, and then
  // from the checkpointed remaining TTL plus the extension.
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 1000s).empty());
  lessor_->Promote(t0_, 1s);
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 12s).empty());
  EXPECT_EQ(lessor_->TakeExpired(t0_ + 13s), std::vector<LeaseId>{7});
}

TEST_F(LessorTest, OnlyThePrimaryExpiresAndRenews) {
  ASSERT_TRUE(lessor_->Grant(7, 10, t0_).ok());
  bool clear = false;
  EXPECT_EQ(lessor_->Renew(7, t0_, &clear).status().message(), "etcdserver: not leader");
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 100s).empty());
  lessor_->Promote(t0_, 0s);
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 9s).empty());
  EXPECT_EQ(lessor_->Renew(7, t0_ + 9s, &clear).value(), 10);
  EXPECT_FALSE(clear);
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 18s).empty());
  EXPECT_EQ(lessor_->TimeToLive(7, t0_ + 14s).value().remaining_ttl, 5);
  EXPECT_EQ(lessor_->TakeExpired(t0_ + 19s), std::vector<LeaseId>{7});
  // Handed out once; again only after the retry interval (the proposal may be lost).
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 20s).empty());
  EXPECT_EQ(lessor_->TakeExpired(t0_ + 23s), std::vector<LeaseId>{7});
  EXPECT_EQ(lessor_->Renew(7, t0_ + 23s, &clear).status().message(),
            "etcdserver: requested lease not found");
  lessor_->Demote();
  EXPECT_TRUE(lessor_->TakeExpired(t0_ + 1000s).empty());
}

TEST_F(LessorTest, CheckpointsCarryTheRemainingTtlAndARenewalClearsIt) {
  ASSERT_TRUE(lessor_->Grant(7, 100, t0_).ok());
  ASSERT_TRUE(lessor_->Grant(8, 100, t0_).ok());
  lessor_->Promote(t0_, 0s);
  EXPECT_TRUE(lessor_->TakeCheckpoints(t0_ + 30s).empty());  // interval not reached
  bool clear = true;
  ASSERT_TRUE(lessor_->Renew(8, t0_ + 59s, &clear).ok());
  EXPECT_FALSE(clear);
  auto checkpoints = lessor_->TakeCheckpoints(t0_ + 60s);
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[0].id, 7);
  EXPECT_EQ(checkpoints[0].remaining_ttl, 40);
  EXPECT_EQ(checkpoints[1].remaining_ttl, 99);
  ASSERT_TRUE(lessor_->Checkpoint(7, 40).ok());
  ASSERT_TRUE(lessor_->Renew(7, t0_ + 61s, &clear).ok());
  EXPECT_TRUE(clear);
}

TEST_F(LessorTest, LeasesListsSoonestExpiryFirst) {
  lessor_->Promote(t0_, 0s);
  ASSERT_TRUE(lessor_->Grant(1, 50, t0_).ok());
  ASSERT_TRUE(lessor_->Grant(2, 10, t0_).ok());
  ASSERT_TRUE(lessor_->Grant(3, 30, t0_).ok());
  auto leases = lessor_->Leases(t0_);
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].id, 2);
  EXPECT_EQ(leases[1].id, 3);
  EXPECT_EQ(leases[2].id, 1);
}

}  // namespace
}  // namespace etcpp::lease
