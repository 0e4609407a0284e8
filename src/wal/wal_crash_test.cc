// Crash test: a child process appends batches to the WAL as fast as it can and, after
// each Save returns, reports the last acknowledged index through a pipe. The parent
// kills it with SIGKILL at random moments — during a write, a sync, a segment cut, a
// snapshot marker, a ReleaseTo, the replay or repair of the next child — reopens the
// log from the newest snapshot it was told of and checks that every acknowledged entry
// is there, in order, byte for byte.
//
// Batch sizes and kill delays come from a seed that is printed (and can be set with
// ETCPP_CRASH_TEST_SEED); where a kill lands also depends on timing, so a rerun with the
// same seed is similar, not identical.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "wal/testing.h"
#include "wal/wal.h"

namespace etcpp::wal {
namespace {

constexpr size_t kEntryBytesMax = 600;
constexpr int kKillsMin = 20;
constexpr int kKillsMax = 60;
constexpr auto kTimeBudget = std::chrono::seconds(20);

Options CrashOptions() {
  Options options;
  options.segment_bytes = 1 << 20;  // small, so kills also land in segment cuts
  return options;
}

// What the child reports through the pipe, one u64 per message (8 bytes < PIPE_BUF, so
// a message is never split): an acknowledged index, or — with the top bit set — the
// index of a snapshot marker it saved.
constexpr uint64_t kSnapshotTag = 1ull << 63;
constexpr int kBatchesPerSnapshot = 10;

void Report(int fd, uint64_t message) {
  if (::write(fd, &message, sizeof message) != sizeof message) ::_exit(4);
}

// The child: never returns. Opens the log from `marker` (the newest snapshot the parent
// knows of), appends batches, and every kBatchesPerSnapshot batches saves a snapshot
// marker at the acknowledged index, reports it, and releases the log up to the marker
// reported before it (the parent may still open from that one if this process dies
// before its report arrives). Exit codes 2-4 mean the WAL failed; being killed is the
// expected end.
[[noreturn]] void AppendUntilKilled(const std::string& dir, int report_fd, SnapshotMarker marker,
                                    uint64_t seed) {
  ReplayResult replay;
  auto wal = Wal::Open(dir, marker, &replay, CrashOptions());
  if (!wal.ok()) {
    std::fprintf(stderr, "child: open: %s\n", wal.status().ToString().c_str());
    ::_exit(2);
  }
  uint64_t next = marker.index + replay.entries.size() + 1;
  uint64_t previous_snapshot = marker.index;
  std::mt19937_64 rng(seed);
  std::vector<raftpb::Entry> batch;
  for (int batches = 1;; ++batches) {
    batch.clear();
    uint64_t count = 1 + rng() % 100;
    for (uint64_t i = 0; i < count; ++i) {
      batch.push_back(EntryForTesting(next + i, 1, kEntryBytesMax));
    }
    raftpb::HardState state;
    state.set_term(1);
    state.set_vote(1);
    state.set_commit(next + count - 1);
    if (base::Status s = (*wal)->Save(state, batch); !s.ok()) {
      std::fprintf(stderr, "child: save: %s\n", s.ToString().c_str());
      ::_exit(3);
    }
    next += count;
    Report(report_fd, next - 1);
    if (batches % kBatchesPerSnapshot != 0) continue;
    if (base::Status s = (*wal)->SaveSnapshot({next - 1, 1}); !s.ok()) ::_exit(3);
    Report(report_fd, (next - 1) | kSnapshotTag);
    if (base::Status s = (*wal)->ReleaseTo(previous_snapshot); !s.ok()) ::_exit(3);
    previous_snapshot = next - 1;
  }
}

size_t CountSegments(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().extension() == ".wal";
  return n;
}

struct Progress {
  uint64_t acknowledged = 0;
  SnapshotMarker snapshot;  // the newest one reported
};

// Reads reports until the (dead) child's end of the pipe is closed.
void DrainReports(int fd, Progress* progress) {
  uint64_t message;
  ssize_t n;
  while ((n = ::read(fd, &message, sizeof message)) == sizeof message) {
    if (message & kSnapshotTag) {
      progress->snapshot = {message & ~kSnapshotTag, 1};
    } else {
      progress->acknowledged = message;
    }
  }
  EXPECT_EQ(n, 0) << "a partial report";
}

// Reopens the log from the newest reported snapshot and checks that every entry after it
// up to the acknowledged index (at least) is there, byte for byte.
void ExpectAcknowledgedEntries(const std::string& dir, const Progress& progress, int* repairs) {
  ReplayResult replay;
  testing::internal::CaptureStderr();
  auto wal = Wal::Open(dir, progress.snapshot, &replay, CrashOptions());
  std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  *repairs += log.find("repairing torn tail") != std::string::npos;
  uint64_t first = progress.snapshot.index + 1;
  ASSERT_GE(first + replay.entries.size(), progress.acknowledged + 1);
  for (size_t i = 0; i < replay.entries.size(); ++i) {
    ASSERT_TRUE(SameEntry(replay.entries[i], EntryForTesting(first + i, 1, kEntryBytesMax)))
        << "entry " << first + i << ", acknowledged " << progress.acknowledged;
  }
  EXPECT_GE(replay.hard_state.commit(), progress.acknowledged);
  EXPECT_LE(replay.hard_state.commit(), progress.snapshot.index + replay.entries.size());
}

TEST(WalCrashTest, EveryAcknowledgedEntrySurvivesSigkill) {
  TempDirForTesting tmp;
  ASSERT_TRUE(Wal::Create(tmp.path(), Metadata{1, 1}, CrashOptions()).ok());
  const char* seed_env = std::getenv("ETCPP_CRASH_TEST_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device()();
  std::printf("crash test seed %" PRIu64 "\n", seed);
  std::mt19937_64 rng(seed);

  auto start = std::chrono::steady_clock::now();
  Progress progress;
  int kills = 0, repairs = 0;
  // At least kKillsMin kills however slow the machine is; more while time allows.
  auto more = [&] {
    return kills < kKillsMin ||
           (kills < kKillsMax && std::chrono::steady_clock::now() - start < kTimeBudget);
  };
  while (more()) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      AppendUntilKilled(tmp.path(), fds[1], progress.snapshot, rng());
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 300));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "child exited with " << WEXITSTATUS(wait_status);
    ++kills;
    DrainReports(fds[0], &progress);
    ::close(fds[0]);
    ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedEntries(tmp.path(), progress, &repairs));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("crash test: %d kills, %d torn tails repaired, %" PRIu64
              " entries acknowledged, newest snapshot %" PRIu64 ", %zu segments left, %.1f s\n",
              kills, repairs, progress.acknowledged, progress.snapshot.index,
              CountSegments(tmp.path()), seconds);
  EXPECT_GT(progress.acknowledged, 0u);
}

}  // namespace
}  // namespace etcpp::wal
