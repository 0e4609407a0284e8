// wal_bench: how close the WAL comes to the disk's own fdatasync rate.
//
//   wal_bench [--seconds N] [DIR]      (DIR defaults to the current directory)
//
// 1. raw: 4 KiB pwrite + fdatasync, appended to a preallocated file in DIR — the most
//    syncs per second this filesystem gives one writer.
// 2. wal: Wal::Save of batches of 100 entries of 256 bytes (plus a hard state), each one
//    fdatasync — raft's Ready loop under load.
// Prints both rates and wal/raw (the target is >= 0.9: the WAL's framing, CRC and
// segment management should cost little next to the sync). A program, not a test:
// figures go to docs/PERFORMANCE.md with the command that produced them.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "wal/file.h"
#include "wal/wal.h"

namespace {

using Clock = std::chrono::steady_clock;
using etcpp::base::Status;
namespace wal = etcpp::wal;

constexpr size_t kRawWriteBytes = 4096;
constexpr uint64_t kRawFileBytes = 1ull << 30;  // room for ~260k syncs
constexpr int kBatchEntries = 100;
constexpr size_t kEntryBytes = 256;

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "wal_bench: %s\n", status.ToString().c_str());
  std::exit(1);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Syncs per second of 4 KiB appends.
double RawSyncRate(const std::string& dir, double seconds) {
  std::string path = wal::JoinPath(dir, "wal_bench_raw.tmp");
  auto file = wal::OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
  if (!file.ok()) Die(file.status());
  if (Status s = wal::Preallocate(file->get(), kRawFileBytes, path); !s.ok()) Die(s);
  if (Status s = wal::SyncFile(file->get(), path); !s.ok()) Die(s);
  std::string block(kRawWriteBytes, 'r');
  uint64_t syncs = 0;
  auto start = Clock::now();
  while (Seconds(start) < seconds && (syncs + 1) * kRawWriteBytes <= kRawFileBytes) {
    if (Status s = wal::WriteAt(file->get(), block, syncs * kRawWriteBytes, path); !s.ok()) Die(s);
    if (Status s = wal::SyncData(file->get(), path); !s.ok()) Die(s);
    ++syncs;
  }
  double rate = static_cast<double>(syncs) / Seconds(start);
  ::unlink(path.c_str());
  return rate;
}

// Saves per second of 100-entry batches.
double WalBatchRate(const std::string& dir, double seconds) {
  std::string wal_dir = wal::JoinPath(dir, "wal_bench_wal.tmp");
  std::filesystem::remove_all(wal_dir);
  auto log = wal::Wal::Create(wal_dir, wal::Metadata{1, 1});
  if (!log.ok()) Die(log.status());
  std::vector<etcpp::raftpb::Entry> batch(kBatchEntries);
  for (auto& entry : batch) {
    entry.set_term(1);
    entry.set_data(std::string(kEntryBytes, 'e'));
  }
  etcpp::raftpb::HardState state;
  state.set_term(1);
  state.set_vote(1);
  uint64_t next = 1, batches = 0;
  auto start = Clock::now();
  while (Seconds(start) < seconds) {
    for (auto& entry : batch) entry.set_index(next++);
    state.set_commit(next - 1);
    if (Status s = (*log)->Save(state, batch); !s.ok()) Die(s);
    ++batches;
  }
  double rate = static_cast<double>(batches) / Seconds(start);
  log->reset();
  std::filesystem::remove_all(wal_dir);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::string dir = ".";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (!arg.empty() && arg[0] != '-') {
      dir = arg;
    } else {
      std::fprintf(stderr, "usage: wal_bench [--seconds N] [DIR]\n");
      return 2;
    }
  }
  std::printf("wal_bench: dir %s, %.0f s per phase\n", dir.c_str(), seconds);
  double raw = RawSyncRate(dir, seconds);
  std::printf("raw   4 KiB write + fdatasync:          %9.0f syncs/s\n", raw);
  double batches = WalBatchRate(dir, seconds);
  std::printf(
      "wal   Save(100 x 256 B entries + state): %9.0f batches/s  (%.0f entries/s, %.1f MB/s)\n",
      batches, batches * kBatchEntries, batches * kBatchEntries * (kEntryBytes + 32) / 1e6);
  std::printf("ratio wal/raw: %.2f (target >= 0.90)\n", batches / raw);
  return 0;
}
