#include "wal/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/failpoint.h"

namespace etcpp::wal {

using base::Code;
using base::Result;
using base::Status;

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Status ErrnoStatus(std::string_view op, const std::string& path) {
  return Status(Code::kIoError, std::string(op) + " " + path + ": " + std::strerror(errno));
}

Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("open", path);
  return UniqueFd(fd);
}

Status WriteAt(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  auto fd = OpenFile(path, O_RDONLY);
  ETCPP_RETURN_IF_ERROR(fd.status());
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoStatus("stat", path);
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n =
        ::pread(fd->get(), out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", path);
    if (n == 0) break;  // shrank while we read: keep what is there
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

Status SyncData(int fd, const std::string& path) {
  if (ETCPP_FAILPOINT_ERROR("wal-fdatasync") || ::fdatasync(fd) != 0) return ErrnoStatus("fdatasync", path);
  return Status::Ok();
}

Status SyncFile(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return ErrnoStatus("fsync", path);
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  auto fd = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  ETCPP_RETURN_IF_ERROR(fd.status());
  return SyncFile(fd->get(), dir);
}

Status Preallocate(int fd, uint64_t bytes, const std::string& path) {
  if (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) == 0) return Status::Ok();
  if (errno != EOPNOTSUPP && errno != ENOSYS) return ErrnoStatus("fallocate", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat", path);
  static const std::string kZeros(1 << 20, '\0');
  for (uint64_t at = static_cast<uint64_t>(st.st_size); at < bytes;) {
    uint64_t n = std::min<uint64_t>(kZeros.size(), bytes - at);
    ETCPP_RETURN_IF_ERROR(WriteAt(fd, std::string_view(kZeros).substr(0, n), at, path));
    at += n;
  }
  return Status::Ok();
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status CreateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return ErrnoStatus("mkdir", dir);
  }
  std::string parent = dir;
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  size_t slash = parent.rfind('/');
  parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : parent.substr(0, slash));
  return SyncDir(parent);
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("opendir", dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) {
    errno = read_errno;
    return ErrnoStatus("readdir", dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename " + from + " to", to);
  return Status::Ok();
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path);
  return Status::Ok();
}

}  // namespace etcpp::wal
