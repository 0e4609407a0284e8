// Backend tests on real LMDB files in a fresh temporary directory per test.
#include "storage/backend/backend.h"
#include "base/crc32c.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace etcpp::backend {
namespace {

using base::Code;

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("etcpp_backend_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Config MakeConfig() {
    Config config;
    config.dir = dir_.string();
    return config;
  }
  std::unique_ptr<Backend> OpenOrDie(Config config) {
    auto backend = Backend::Open(std::move(config));
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return std::move(backend).value();
  }
  static std::optional<std::string> ReadCommitted(const Backend& b, Bucket bucket,
                                                  std::string_view key) {
    auto txn = b.Read();
    EXPECT_TRUE(txn.ok());
    auto v = txn->Get(bucket, key);
    EXPECT_TRUE(v.ok());
    if (!v->has_value()) return std::nullopt;
    return std::string(**v);
  }

  std::filesystem::path dir_;
};

TEST(Crc32cTest, IsCastagnoli) {
  EXPECT_EQ(base::crc32c::Extend(0, "123456789"), 0xe3069283u);
  EXPECT_EQ(base::crc32c::Extend(base::crc32c::Extend(0, "1234"), "56789"), 0xe3069283u);
}

TEST_F(BackendTest, HashWalksBucketsInNameOrder) {
  auto b = OpenOrDie(MakeConfig());
  ASSERT_TRUE(b->Put(Bucket::kMeta, "m", "1").ok());
  ASSERT_TRUE(b->Put(Bucket::kAlarm, "a", "2").ok());
  ASSERT_TRUE(b->Commit().ok());
  auto hash = b->Hash([](Bucket, std::string_view) { return false; });
  ASSERT_TRUE(hash.ok());
  // alarm auth authRoles authUsers key lease members meta — bbolt's bucket order
  uint32_t want = 0;
  for (std::string name : {"alarm", "a", "2", "auth", "authRoles", "authUsers", "key", "lease", "members", "meta", "m", "1"}) {
    want = base::crc32c::Extend(want, name);
  }
  EXPECT_EQ(*hash, want);
  auto ignoring = b->Hash([](Bucket bucket, std::string_view) { return bucket == Bucket::kMeta; });
  ASSERT_TRUE(ignoring.ok());
  EXPECT_NE(*ignoring, *hash);
}

TEST_F(BackendTest, ReadersSeeOnlyCommittedBatches) {
  auto b = OpenOrDie(MakeConfig());
  ASSERT_TRUE(b->Put(Bucket::kKey, "k", "v1").ok());
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "k"), std::nullopt);
  auto in_batch = b->GetForWrite(Bucket::kKey, "k");
  ASSERT_TRUE(in_batch.ok());
  EXPECT_EQ(*in_batch, "v1");

  auto before = b->Read();  // begun before the commit: must keep its snapshot
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "k"), "v1");
  auto old_view = before->Get(Bucket::kKey, "k");
  ASSERT_TRUE(old_view.ok());
  EXPECT_FALSE(old_view->has_value());
}

TEST_F(BackendTest, BucketsAreSeparateAndScanIsOrdered) {
  auto b = OpenOrDie(MakeConfig());
  ASSERT_TRUE(b->Put(Bucket::kLease, "a", "lease").ok());
  ASSERT_TRUE(b->Put(Bucket::kAuth, "a", "auth").ok());
  for (std::string k : {"c", "a", "b", "d"}) ASSERT_TRUE(b->Put(Bucket::kMembers, k, k).ok());
  ASSERT_TRUE(b->Delete(Bucket::kMembers, "d").ok());
  ASSERT_TRUE(b->Delete(Bucket::kMembers, "missing").ok());
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_EQ(ReadCommitted(*b, Bucket::kLease, "a"), "lease");
  EXPECT_EQ(ReadCommitted(*b, Bucket::kAuth, "a"), "auth");
  auto txn = b->Read();
  ASSERT_TRUE(txn.ok());
  std::string seen;
  ASSERT_TRUE(txn->ForEach(Bucket::kMembers, "b", "", [&](std::string_view k, std::string_view) {
                   seen += k;
                   return true;
                 }).ok());
  EXPECT_EQ(seen, "bc");
  seen.clear();
  ASSERT_TRUE(txn->ForEach(Bucket::kMembers, "", "c", [&](std::string_view k, std::string_view) {
                   seen += k;
                   return true;
                 }).ok());
  EXPECT_EQ(seen, "ab");
}

TEST_F(BackendTest, ConsistentIndexSurvivesReopenWithItsData) {
  {
    auto b = OpenOrDie(MakeConfig());
    ASSERT_TRUE(b->Put(Bucket::kKey, "k", "v").ok());
    ASSERT_TRUE(b->SetConsistentIndex(42).ok());
    ASSERT_TRUE(b->Commit().ok());
    ASSERT_TRUE(b->SetConsistentIndex(43).ok());  // committed by the destructor
  }
  auto b = OpenOrDie(MakeConfig());
  EXPECT_EQ(b->ConsistentIndex(), 43u);
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "k"), "v");
}

TEST_F(BackendTest, CommitIsDueByOperationsOrInterval) {
  Config config = MakeConfig();
  config.batch_ops_max = 3;
  config.batch_interval_ms = 50;
  auto b = OpenOrDie(config);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(b->Put(Bucket::kKey, "a", "1").ok());
  ASSERT_TRUE(b->CommitIfDue(start).ok());
  EXPECT_EQ(b->PendingOps(), 1);
  ASSERT_TRUE(b->Put(Bucket::kKey, "b", "1").ok());
  ASSERT_TRUE(b->Put(Bucket::kKey, "c", "1").ok());
  ASSERT_TRUE(b->CommitIfDue(start).ok());
  EXPECT_EQ(b->PendingOps(), 0);
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "c"), "1");
  ASSERT_TRUE(b->Put(Bucket::kKey, "d", "1").ok());
  ASSERT_TRUE(b->CommitIfDue(std::chrono::steady_clock::now() + std::chrono::milliseconds(60)).ok());
  EXPECT_EQ(b->PendingOps(), 0);
}

TEST_F(BackendTest, MapGrowsWhenFullAndKeepsTheBatch) {
  Config config = MakeConfig();
  config.map_size_initial_bytes = 1 << 20;
  config.batch_ops_max = 1 << 30;
  auto b = OpenOrDie(config);
  std::atomic<bool> stop{false};
  std::thread reader([&] {  // a concurrent reader must not crash across remaps
    while (!stop) {
      auto txn = b->Read();
      ASSERT_TRUE(txn.ok());
      ASSERT_TRUE(txn->Get(Bucket::kKey, "k0").ok());
    }
  });
  std::string value(1000, 'x');
  for (int i = 0; i < 8000; ++i) {  // ~8 MB in one batch
    ASSERT_TRUE(b->Put(Bucket::kKey, "k" + std::to_string(i), value).ok());
    if (i % 3000 == 2999) {
      ASSERT_TRUE(b->Commit().ok());
    }
  }
  ASSERT_TRUE(b->Commit().ok());
  stop = true;
  reader.join();
  EXPECT_GE(b->map_size_bytes(), 8 << 20);
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "k7999"), value);
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "k0"), value);
}

TEST_F(BackendTest, MapSizeLimitIsAClearError) {
  Config config = MakeConfig();
  config.map_size_initial_bytes = 1 << 20;
  config.map_size_max_bytes = 2 << 20;
  auto b = OpenOrDie(config);
  base::Status s;
  for (int i = 0; i < 10000 && s.ok(); ++i) s = b->Put(Bucket::kKey, std::to_string(i), std::string(1000, 'x'));
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "backend: map size limit reached (2097152 bytes)");
}

TEST_F(BackendTest, SizesAndQuota) {
  Config config = MakeConfig();
  config.quota_bytes = 4 << 20;
  auto b = OpenOrDie(config);
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(b->Put(Bucket::kKey, std::to_string(i), std::string(1000, 'x')).ok());
  ASSERT_TRUE(b->Commit().ok());
  int64_t size = b->SizeBytes();
  auto in_use = b->SizeInUseBytes();
  ASSERT_TRUE(in_use.ok());
  EXPECT_GT(size, 2'000'000);
  EXPECT_LE(*in_use, size);
  EXPECT_TRUE(b->CheckQuota(0).ok());
  base::Status over = b->CheckQuota(4 << 20);
  EXPECT_EQ(over.code(), Code::kResourceExhausted);
  EXPECT_EQ(over.message(), "mvcc: database space exceeded");

  for (int i = 0; i < 1900; ++i) ASSERT_TRUE(b->Delete(Bucket::kKey, std::to_string(i)).ok());
  ASSERT_TRUE(b->Commit().ok());
  auto in_use_after = b->SizeInUseBytes();
  ASSERT_TRUE(in_use_after.ok());
  EXPECT_LT(*in_use_after, *in_use / 2);  // freed pages leave "in use"
}

// A copy holds the committed state only (the pending batch is the writer's) and opens
// as another backend's data file: what a snapshot restore relies on.
TEST_F(BackendTest, CopyToHoldsTheCommittedStateAndOpensAsABackend) {
  auto b = OpenOrDie(MakeConfig());
  ASSERT_TRUE(b->Put(Bucket::kKey, "committed", "1").ok());
  ASSERT_TRUE(b->SetConsistentIndex(9).ok());
  ASSERT_TRUE(b->Commit().ok());
  ASSERT_TRUE(b->Put(Bucket::kKey, "pending", "2").ok());
  const auto copy_dir = dir_ / "copy";
  std::filesystem::create_directories(copy_dir);
  int fd = ::open((copy_dir / "data.mdb").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(b->CopyTo(fd).ok());
  ::close(fd);
  Config copy_config;
  copy_config.dir = copy_dir.string();
  auto copy = OpenOrDie(copy_config);
  EXPECT_EQ(ReadCommitted(*copy, Bucket::kKey, "committed"), "1");
  EXPECT_EQ(ReadCommitted(*copy, Bucket::kKey, "pending"), std::nullopt);
  EXPECT_EQ(copy->ConsistentIndex(), 9u);
}

TEST_F(BackendTest, DefragmentShrinksTheFileWhileReadersRun) {
  auto b = OpenOrDie(MakeConfig());
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(b->Put(Bucket::kKey, std::to_string(i), std::string(1000, 'x')).ok());
  ASSERT_TRUE(b->Commit().ok());
  for (int i = 0; i < 4900; ++i) ASSERT_TRUE(b->Delete(Bucket::kKey, std::to_string(i)).ok());
  ASSERT_TRUE(b->SetConsistentIndex(7).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop) {
      auto v = ReadCommitted(*b, Bucket::kKey, "4999");
      if (reads > 0) {
        ASSERT_EQ(v, std::string(1000, 'x'));
      }
      ++reads;
    }
  });
  auto reclaimed = b->Defragment();
  stop = true;
  reader.join();
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status().ToString();
  EXPECT_GT(*reclaimed, 3'000'000);
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "4999"), std::string(1000, 'x'));
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "0"), std::nullopt);
  ASSERT_TRUE(b->Put(Bucket::kKey, "after", "defrag").ok());
  ASSERT_TRUE(b->Commit().ok());
  b.reset();
  auto reopened = OpenOrDie(MakeConfig());
  EXPECT_EQ(reopened->ConsistentIndex(), 7u);
  EXPECT_EQ(ReadCommitted(*reopened, Bucket::kKey, "after"), "defrag");
}

// A full disk is simulated with RLIMIT_FSIZE (writes past it fail with EFBIG): the
// commit must fail with a Status, keep the batch, and succeed once space is back.
TEST_F(BackendTest, FullDiskIsAStatusAndTheBatchSurvives) {
  auto b = OpenOrDie(MakeConfig());
  ASSERT_TRUE(b->Put(Bucket::kKey, "small", "v").ok());
  ASSERT_TRUE(b->Commit().ok());
  int64_t size = b->SizeBytes();
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = static_cast<rlim_t>(size);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b->Put(Bucket::kKey, std::to_string(i), std::string(1000, 'y')).ok());
  base::Status s = b->Commit();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_EQ(s.message(), "backend: commit: File too large");
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "small"), "v");
  EXPECT_EQ(b->PendingOps(), 1000);
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_EQ(ReadCommitted(*b, Bucket::kKey, "999"), std::string(1000, 'y'));
}

}  // namespace
}  // namespace etcpp::backend
