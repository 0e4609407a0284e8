// Maintenance.Snapshot's source: a point-in-time copy of the backend. The copy goes to
// a local temporary file first, so a slow client holds nothing but that file: not an
// LMDB read transaction (which would pin old pages and block map growth) nor the apply
// loop.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/log.h"
#include "server/server.h"

namespace etcpp::server {

EtcdServer::BackendCopy::~BackendCopy() {
  if (fd >= 0) ::close(fd);
}

void EtcdServer::SnapshotBackend(Done<std::shared_ptr<BackendCopy>> done) {
  PostApplyTask([this, done = std::move(done)]() mutable {
    // The apply loop owns the write batch; committing it here is what puts every
    // applied write into the copy.
    if (base::Status committed = backend_->Commit(); !committed.ok()) return done(committed);
    boost::asio::post(*read_pool_, [this, done = std::move(done)] {
      auto fail = [&](const std::string& what) {
        return done(base::Status(base::Code::kIoError,
                                 "snapshot: " + what + ": " + std::strerror(errno)));
      };
      std::string path = (std::filesystem::path(config_.data_dir) / "member" / "snapshot.XXXXXX").string();
      auto copy = std::make_shared<BackendCopy>();
      copy->fd = ::mkstemp(path.data());
      if (copy->fd < 0) return fail("create " + path);
      // Unlinked at once: the file lives only as long as the stream that reads it, and
      // a crash leaves nothing behind.
      ::unlink(path.c_str());
      if (base::Status copied = backend_->CopyTo(copy->fd); !copied.ok()) return done(copied);
      struct stat st {};
      if (::fstat(copy->fd, &st) != 0) return fail("stat " + path);
      copy->size_bytes = st.st_size;
      base::Log(base::LogLevel::kInfo, "sending database snapshot to client",
                {{"total-bytes", copy->size_bytes}});
      done(std::move(copy));
    });
  });
}

}  // namespace etcpp::server
