// Thin POSIX file helpers for the WAL and snapshot files: every failure becomes a
// base::Status naming the operation, the path and errno. No buffering, no caching —
// what these functions report as synced is on stable storage as far as the kernel can
// promise. Safe from any thread (they share no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace etcpp::wal {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

// A Status of kind kIoError: "<op> <path>: <strerror(errno)>".
base::Status ErrnoStatus(std::string_view op, const std::string& path);

base::Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode = 0644);
base::Status WriteAt(int fd, std::string_view data, uint64_t offset, const std::string& path);
base::Status ReadWholeFile(const std::string& path, std::string* out);
// fdatasync: the file's data and the metadata needed to read it back (size).
base::Status SyncData(int fd, const std::string& path);
// fsync: data and all metadata.
base::Status SyncFile(int fd, const std::string& path);
// fsyncs a directory, which makes the creation, rename or removal of its entries durable.
base::Status SyncDir(const std::string& dir);
// Reserves [0, bytes) on disk so later writes inside it do not change the file's size
// (and fdatasync need not journal a size change). Falls back to writing zeros where the
// filesystem has no fallocate.
base::Status Preallocate(int fd, uint64_t bytes, const std::string& path);
// Creates `dir` (one level) if it does not exist and fsyncs its parent so it stays.
base::Status CreateDir(const std::string& dir);
// Sorted names of the directory's entries (without "." and "..").
base::Result<std::vector<std::string>> ListDir(const std::string& dir);
base::Status RenameFile(const std::string& from, const std::string& to);
base::Status RemoveFile(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace etcpp::wal
