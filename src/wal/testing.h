// Test-only helpers shared by the wal and snap tests: a real temporary directory (the
// tests use real files, real fsync and rename, never a mock) and entries whose bytes are
// a pure function of their index and term, so a test can check any replayed entry.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/assert.h"
#include "etcpp/raftpb.pb.h"

namespace etcpp::wal {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents at scope exit.
class TempDirForTesting {
 public:
  TempDirForTesting() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/etcpp-test-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    ETCPP_ASSERT(made != nullptr);
    path_ = pattern;
  }
  ~TempDirForTesting() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDirForTesting(const TempDirForTesting&) = delete;
  TempDirForTesting& operator=(const TempDirForTesting&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Entry `index` of `term`, with 1..max_bytes bytes derived from both (xorshift), so a
// replayed entry can be checked byte for byte without remembering it.
inline raftpb::Entry EntryForTesting(uint64_t index, uint64_t term, size_t max_bytes = 300) {
  uint64_t x = index * 0x9E3779B97F4A7C15ull ^ term * 0xC2B2AE3D27D4EB4Full ^ 1;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::string data(next() % max_bytes + 1, '\0');
  for (char& c : data) c = static_cast<char>(next());
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

inline bool SameEntry(const raftpb::Entry& a, const raftpb::Entry& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace etcpp::wal
