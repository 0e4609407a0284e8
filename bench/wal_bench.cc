// wal_bench: how close the WAL comes to the disk's own fdatasync rate.
//
//   wal_bench [--rounds N] [--seconds S] [DIR]   (DIR defaults to the current directory)
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

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "wal/file.h"
#include "wal/wal.h"

namespace {

using Clock = std::chrono::steady_clock;
using etcpp::base::Status;
namespace wal = etcpp::wal;

constexpr size_t kRawWriteBytes = 4096;
constexpr uint64_t kRawFileBytes = 1ull << 30;  // rewritten from the start when full
constexpr int kBatchEntries = 100;
constexpr size_t kEntryBytes = 256;

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "wal_bench: %s\n", status.ToString().c_str());
  std::exit(1);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// 4 KiB appends, each followed by fdatasync, into one preallocated file.
class RawWriter {
 public:
  explicit RawWriter(const std::string& dir) : path_(wal::JoinPath(dir, "wal_bench_raw.tmp")) {
    auto file = wal::OpenFile(path_, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file.ok()) Die(file.status());
    file_ = std::move(file).value();
    if (Status s = wal::Preallocate(file_.get(), kRawFileBytes, path_); !s.ok()) Die(s);
    if (Status s = wal::SyncFile(file_.get(), path_); !s.ok()) Die(s);
  }
  ~RawWriter() { ::unlink(path_.c_str()); }

  // Syncs per second over `seconds`.
  double Run(double seconds) {
    uint64_t syncs = 0;
    auto start = Clock::now();
    while (Seconds(start) < seconds) {
      if (offset_ + kRawWriteBytes > kRawFileBytes) offset_ = 0;
      if (Status s = wal::WriteAt(file_.get(), block_, offset_, path_); !s.ok()) Die(s);
      if (Status s = wal::SyncData(file_.get(), path_); !s.ok()) Die(s);
      offset_ += kRawWriteBytes;
      ++syncs;
    }
    return static_cast<double>(syncs) / Seconds(start);
  }

 private:
  std::string path_;
  wal::UniqueFd file_;
  std::string block_ = std::string(kRawWriteBytes, 'r');
  uint64_t offset_ = 0;
};

// Wal::Save of 100-entry batches into a fresh log (segments cut as they fill).
class WalWriter {
 public:
  explicit WalWriter(const std::string& dir) : dir_(wal::JoinPath(dir, "wal_bench_wal.tmp")) {
    std::filesystem::remove_all(dir_);
    auto log = wal::Wal::Create(dir_, wal::Metadata{1, 1});
    if (!log.ok()) Die(log.status());
    log_ = std::move(log).value();
    batch_.resize(kBatchEntries);
    for (auto& entry : batch_) {
      entry.set_term(1);
      entry.set_data(std::string(kEntryBytes, 'e'));
    }
    state_.set_term(1);
    state_.set_vote(1);
  }
  ~WalWriter() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Batches per second over `seconds`.
  double Run(double seconds) {
    uint64_t batches = 0;
    auto start = Clock::now();
    while (Seconds(start) < seconds) {
      for (auto& entry : batch_) entry.set_index(next_++);
      state_.set_commit(next_ - 1);
      if (Status s = log_->Save(state_, batch_); !s.ok()) Die(s);
      ++batches;
    }
    return static_cast<double>(batches) / Seconds(start);
  }

 private:
  std::string dir_;
  std::unique_ptr<wal::Wal> log_;
  std::vector<etcpp::raftpb::Entry> batch_;
  etcpp::raftpb::HardState state_;
  uint64_t next_ = 1;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int rounds = 5;
  std::string dir = ".";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (!arg.empty() && arg[0] != '-') {
      dir = arg;
    } else {
      std::fprintf(stderr, "usage: wal_bench [--rounds N] [--seconds S] [DIR]\n");
      return 2;
    }
  }
  // The phases alternate, round after round, so a disk or a neighbour that is busier in
  // one stretch of time weighs on both sides alike; medians ignore the odd outlier.
  std::printf("wal_bench: dir %s, %d rounds of %.1f s per phase\n", dir.c_str(), rounds, seconds);
  RawWriter raw(dir);
  WalWriter log(dir);
  std::vector<double> raw_rates, wal_rates, ratios;
  for (int round = 1; round <= rounds; ++round) {
    raw_rates.push_back(raw.Run(seconds));
    wal_rates.push_back(log.Run(seconds));
    ratios.push_back(wal_rates.back() / raw_rates.back());
    std::printf("round %d: raw %7.0f syncs/s, wal %7.0f batches/s, ratio %.2f\n", round,
                raw_rates.back(), wal_rates.back(), ratios.back());
  }
  double wal_rate = Median(wal_rates);
  std::printf("raw   4 KiB write + fdatasync:           %7.0f syncs/s (median)\n",
              Median(raw_rates));
  std::printf(
      "wal   Save(100 x 256 B entries + state): %7.0f batches/s (median; %.0f entries/s, "
      "%.1f MB/s)\n",
      wal_rate, wal_rate * kBatchEntries, wal_rate * kBatchEntries * (kEntryBytes + 32) / 1e6);
  std::printf("ratio wal/raw: %.2f (median of rounds; target >= 0.90)\n", Median(ratios));
  return 0;
}
