#include "server/datadir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "server/member.h"

namespace etcpp::server {
namespace {

// A snapshot's old member records give way to the new cluster's, and the WAL and
// raft snapshot start at index 1 with every new member a voter: what `etcpp` reads back
// when it restarts on a restored data dir.
TEST(InitializeMemberDataDir, ReplacesMembersAndStartsTheLogAtIndexOne) {
  const auto dir = std::filesystem::temp_directory_path() / ("etcpp_datadir_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto members = ParseInitialCluster("a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3", "tok");
  ASSERT_TRUE(members.ok());
  {
    backend::Config config;
    config.dir = (dir / "backend").string();
    auto backend = backend::Backend::Open(config);
    ASSERT_TRUE(backend.ok());
    ASSERT_TRUE((*backend)->Put(backend::Bucket::kMembers, "stale-id", "old cluster").ok());
    ASSERT_TRUE((*backend)->SetConsistentIndex(500).ok());
    auto storage = InitializeMemberDataDir(backend->get(), (dir / "wal").string(), (dir / "snap").string(),
                                           *members, (*members)[1].id());
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    EXPECT_EQ((*backend)->ConsistentIndex(), 1u);
    std::vector<uint64_t> ids;
    auto read = (*backend)->Read();
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE(read->ForEach(backend::Bucket::kMembers, "", "", [&](std::string_view, std::string_view value) {
      serverpb::Member m;
      EXPECT_TRUE(m.ParseFromArray(value.data(), static_cast<int>(value.size())));
      ids.push_back(m.id());
      return true;
    }).ok());
    EXPECT_EQ(ids, (std::vector<uint64_t>{(*members)[0].id(), (*members)[1].id(), (*members)[2].id()}));
  }
  auto reopened = RaftStorage::Open((dir / "wal").string(), (dir / "snap").string());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->metadata().member_id, (*members)[1].id());
  EXPECT_EQ((*reopened)->metadata().cluster_id,
            ComputeClusterId({(*members)[0].id(), (*members)[1].id(), (*members)[2].id()}));
  EXPECT_EQ((*reopened)->snapshot().metadata().index(), 1u);
  EXPECT_EQ((*reopened)->snapshot().metadata().conf_state().voters_size(), 3);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace etcpp::server
