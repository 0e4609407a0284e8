// Crash test: a child process appends batches to the WAL as fast as it can and, after
// each Save returns, reports the last acknowledged index through a pipe. The parent
// kills it with SIGKILL at random moments — during a write, a sync, a segment cut, the
// replay or repair of the next child — reopens the log and checks that every
// acknowledged entry is there, in order, byte for byte. The seed is printed so a
// failure can be replayed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <thread>

#include "wal/testing.h"
#include "wal/wal.h"

namespace etcpp::wal {
namespace {

constexpr size_t kEntryBytesMax = 600;
constexpr int kKillsMin = 20;
constexpr int kKillsMax = 30;
constexpr auto kTimeBudget = std::chrono::seconds(20);

Options CrashOptions() {
  Options options;
  options.segment_bytes = 1 << 20;  // small, so kills also land in segment cuts
  return options;
}

// The child: never returns. Exit code 2/3 means the WAL itself failed, which the parent
// reports; being killed is the expected end.
[[noreturn]] void AppendUntilKilled(const std::string& dir, int ack_fd, uint64_t seed) {
  ReplayResult replay;
  auto wal = Wal::Open(dir, {}, &replay, CrashOptions());
  if (!wal.ok()) {
    std::fprintf(stderr, "child: open: %s\n", wal.status().ToString().c_str());
    ::_exit(2);
  }
  uint64_t next = replay.entries.empty() ? 1 : replay.entries.back().index() + 1;
  std::mt19937_64 rng(seed);
  std::vector<raftpb::Entry> batch;
  for (;;) {
    batch.clear();
    uint64_t count = 1 + rng() % 100;
    for (uint64_t i = 0; i < count; ++i)
      batch.push_back(EntryForTesting(next + i, 1, kEntryBytesMax));
    raftpb::HardState state;
    state.set_term(1);
    state.set_vote(1);
    state.set_commit(next + count - 1);
    base::Status status = (*wal)->Save(state, batch);
    if (!status.ok()) {
      std::fprintf(stderr, "child: save: %s\n", status.ToString().c_str());
      ::_exit(3);
    }
    next += count;
    uint64_t acknowledged = next - 1;
    // 8 bytes < PIPE_BUF: the write is atomic, the parent never sees half an index.
    if (::write(ack_fd, &acknowledged, sizeof acknowledged) != sizeof acknowledged) ::_exit(4);
  }
}

// Reads acknowledgements until the (dead) child's end of the pipe is closed.
uint64_t DrainAcknowledged(int fd, uint64_t acknowledged) {
  uint64_t value;
  ssize_t n;
  while ((n = ::read(fd, &value, sizeof value)) == sizeof value) acknowledged = value;
  EXPECT_EQ(n, 0) << "a partial acknowledgement";
  return acknowledged;
}

// Reopens the log and checks entries 1..acknowledged (at least) are all there.
void ExpectAcknowledgedEntries(const std::string& dir, uint64_t acknowledged, int* repairs) {
  ReplayResult replay;
  testing::internal::CaptureStderr();
  auto wal = Wal::Open(dir, {}, &replay, CrashOptions());
  std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  *repairs += log.find("repairing torn tail") != std::string::npos;
  ASSERT_GE(replay.entries.size(), acknowledged);
  for (size_t i = 0; i < replay.entries.size(); ++i) {
    ASSERT_TRUE(SameEntry(replay.entries[i], EntryForTesting(i + 1, 1, kEntryBytesMax)))
        << "entry " << i + 1 << " of " << replay.entries.size() << ", acknowledged "
        << acknowledged;
  }
  EXPECT_GE(replay.hard_state.commit(), acknowledged);
  EXPECT_LE(replay.hard_state.commit(), replay.entries.size());
}

TEST(WalCrashTest, EveryAcknowledgedEntrySurvivesSigkill) {
  TempDirForTesting tmp;
  ASSERT_TRUE(Wal::Create(tmp.path(), Metadata{1, 1}, CrashOptions()).ok());
  const uint64_t seed = std::random_device()();
  std::printf("crash test seed %" PRIu64 "\n", seed);
  std::mt19937_64 rng(seed);

  auto start = std::chrono::steady_clock::now();
  uint64_t acknowledged = 0;
  int kills = 0, repairs = 0;
  while (kills < kKillsMax && std::chrono::steady_clock::now() - start < kTimeBudget) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      AppendUntilKilled(tmp.path(), fds[1], rng());
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 300));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "child exited with " << WEXITSTATUS(wait_status);
    ++kills;
    acknowledged = DrainAcknowledged(fds[0], acknowledged);
    ::close(fds[0]);
    ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedEntries(tmp.path(), acknowledged, &repairs));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("crash test: %d kills, %d torn tails repaired, %" PRIu64
              " entries acknowledged, %.1f s\n",
              kills, repairs, acknowledged, seconds);
  EXPECT_GE(kills, kKillsMin);
  EXPECT_GT(acknowledged, 0u);
}

}  // namespace
}  // namespace etcpp::wal
