// Snapshot files: round trip, newest wins, a damaged newest file falls back to the one
// before it, and only the newest Options::keep files stay.
#include "snap/snapshotter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "wal/testing.h"

namespace etcpp::snap {
namespace {

using wal::TempDirForTesting;

raftpb::Snapshot MakeSnapshot(uint64_t index, uint64_t term) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(index);
  snapshot.mutable_metadata()->set_term(term);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(1);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(2);
  snapshot.mutable_metadata()->mutable_conf_state()->add_learners(3);
  snapshot.set_data(std::string(5000, 'd') + std::to_string(index));
  return snapshot;
}

void FlipByte(const std::string& path, size_t at) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(at));
  char c;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(at));
  file.put(static_cast<char>(c ^ 0x01));
}

TEST(SnapshotterTest, SavedSnapshotRoundTrips) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.Sub("snap"));
  ASSERT_TRUE(snapshotter.ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(100, 3)).ok());
  auto loaded = snapshotter->LoadNewest();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->SerializeAsString(), MakeSnapshot(100, 3).SerializeAsString());
  auto names = snapshotter->ListForTesting();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"0000000000000003-0000000000000064.snap"});
}

TEST(SnapshotterTest, NewestSnapshotWins) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.path());
  ASSERT_TRUE(snapshotter.ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(10, 1)).ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(300, 2)).ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(20, 1)).ok());
  auto loaded = snapshotter->LoadNewest();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->metadata().index(), 300u);
}

TEST(SnapshotterTest, NoSnapshotIsNotFound) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.path());
  ASSERT_TRUE(snapshotter.ok());
  EXPECT_EQ(snapshotter->LoadNewest().status().code(), base::Code::kNotFound);
}

TEST(SnapshotterTest, FlippedByteInTheNewestFileFallsBackToThePreviousOne) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.path());
  ASSERT_TRUE(snapshotter.ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(10, 1)).ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(20, 1)).ok());
  std::string newest = tmp.Sub("0000000000000001-0000000000000014.snap");
  for (size_t at : {size_t{30}, size_t{2000}, std::filesystem::file_size(newest) - 1}) {
    FlipByte(newest, at);
    testing::internal::CaptureStderr();
    auto loaded = snapshotter->LoadNewest();
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->metadata().index(), 10u) << "flip at " << at;
    EXPECT_NE(log.find("skipping broken snapshot " + newest), std::string::npos) << log;
    FlipByte(newest, at);  // undo
  }
  EXPECT_TRUE(std::filesystem::exists(newest)) << "a broken file is kept for inspection";
}

TEST(SnapshotterTest, TruncatedOrForeignFilesAreSkipped) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.path());
  ASSERT_TRUE(snapshotter.ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(10, 1)).ok());
  ASSERT_TRUE(snapshotter->Save(MakeSnapshot(20, 1)).ok());
  std::filesystem::resize_file(tmp.Sub("0000000000000001-0000000000000014.snap"), 100);
  // A valid file under the wrong name: its contents would claim a different snapshot.
  std::filesystem::copy_file(tmp.Sub("0000000000000001-000000000000000a.snap"),
                             tmp.Sub("0000000000000001-0000000000000015.snap"));
  testing::internal::CaptureStderr();
  auto loaded = snapshotter->LoadNewest();
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->metadata().index(), 10u);
}

TEST(SnapshotterTest, OnlyTheNewestKeepFilesStay) {
  TempDirForTesting tmp;
  Options options;
  options.keep = 3;
  auto snapshotter = Snapshotter::Open(tmp.path(), options);
  ASSERT_TRUE(snapshotter.ok());
  for (uint64_t index = 1; index <= 7; ++index) {
    ASSERT_TRUE(snapshotter->Save(MakeSnapshot(index * 10, 1 + index / 4)).ok());
  }
  auto names = snapshotter->ListForTesting();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"0000000000000002-0000000000000032.snap",
                                              "0000000000000002-000000000000003c.snap",
                                              "0000000000000002-0000000000000046.snap"}));
}

TEST(SnapshotterTest, DecoderRejectsGarbageWithoutCrashing) {
  raftpb::Snapshot snapshot;
  EXPECT_FALSE(DecodeSnapshotFile("", &snapshot).ok());
  EXPECT_FALSE(DecodeSnapshotFile("etcppsnp", &snapshot).ok());
  std::string contents = EncodeSnapshotFile(MakeSnapshot(5, 1));
  EXPECT_TRUE(DecodeSnapshotFile(contents, &snapshot).ok());
  contents[16] = static_cast<char>(contents[16] + 1);  // length
  EXPECT_FALSE(DecodeSnapshotFile(contents, &snapshot).ok());
}

TEST(SnapshotterTest, SnapshotWithoutIndexIsRejected) {
  TempDirForTesting tmp;
  auto snapshotter = Snapshotter::Open(tmp.path());
  ASSERT_TRUE(snapshotter.ok());
  EXPECT_EQ(snapshotter->Save(raftpb::Snapshot()).code(), base::Code::kInvalidArgument);
}

}  // namespace
}  // namespace etcpp::snap
