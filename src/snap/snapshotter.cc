#include "snap/snapshotter.h"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <iterator>

#include "base/crc32c.h"
#include "wal/file.h"

namespace etcpp::snap {
namespace {

using base::Code;
using base::Result;
using base::Status;

constexpr char kMagic[8] = {'e', 't', 'c', 'p', 'p', 's', 'n', 'p'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kPrefixBytes = 8 + 4 + 4 + 8;
constexpr char kSuffix[] = ".snap";
constexpr char kTempSuffix[] = ".snap.tmp";

std::string FileName(uint64_t term, uint64_t index) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 "%s", term, index, kSuffix);
  return name;
}

bool IsSnapshotName(const std::string& name) {
  if (name.size() != 16 + 1 + 16 + 5 || name[16] != '-' || name.compare(33, 5, kSuffix) != 0) {
    return false;
  }
  for (size_t i = 0; i < 33; ++i) {
    if (i != 16 && !std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void PutLittleEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

Status Options::Validate() const {
  if (keep == 0) return Status(Code::kInvalidArgument, "snap: keep must be at least 1");
  return Status::Ok();
}

std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot) {
  std::string body;
  // Serializing a message held in memory fails only if it is over 2 GiB: a bug upstream.
  bool serialized = snapshot.SerializeToString(&body);
  ETCPP_ASSERT(serialized);
  std::string out(kMagic, sizeof kMagic);
  PutLittleEndian(&out, kFormatVersion, 4);
  PutLittleEndian(&out, base::crc32c::Value(body), 4);
  PutLittleEndian(&out, body.size(), 8);
  out += body;
  return out;
}

Status DecodeSnapshotFile(std::string_view contents, raftpb::Snapshot* snapshot) {
  if (contents.size() < kPrefixBytes || contents.substr(0, 8) != std::string_view(kMagic, 8)) {
    return Status(Code::kCorruption, "not a snapshot file");
  }
  if (GetLittleEndian(contents.data() + 8, 4) != kFormatVersion) {
    return Status(Code::kCorruption, "unknown snapshot format version");
  }
  uint64_t length = GetLittleEndian(contents.data() + 16, 8);
  std::string_view body = contents.substr(kPrefixBytes);
  if (length != body.size()) return Status(Code::kCorruption, "length mismatch (truncated?)");
  if (base::crc32c::Value(body) != GetLittleEndian(contents.data() + 12, 4)) {
    return Status(Code::kCorruption, "checksum mismatch");
  }
  if (!snapshot->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status(Code::kCorruption, "undecodable snapshot");
  }
  return Status::Ok();
}

Result<Snapshotter> Snapshotter::Open(const std::string& dir, const Options& options) {
  ETCPP_RETURN_IF_ERROR(options.Validate());
  ETCPP_RETURN_IF_ERROR(wal::CreateDir(dir));
  return Snapshotter(dir, options);
}

Status Snapshotter::Save(const raftpb::Snapshot& snapshot) {
  const raftpb::SnapshotMetadata& metadata = snapshot.metadata();
  if (metadata.index() == 0) {
    return Status(Code::kInvalidArgument, "snap: snapshot index must be > 0");
  }
  std::string path = wal::JoinPath(dir_, FileName(metadata.term(), metadata.index()));
  std::string temp = path.substr(0, path.size() - 5) + kTempSuffix;
  // Written under a temporary name, synced, then renamed: the name appears only for a
  // complete file. The directory fsync makes the rename survive a power loss.
  auto file = wal::OpenFile(temp, O_WRONLY | O_CREAT | O_TRUNC);
  ETCPP_RETURN_IF_ERROR(file.status());
  ETCPP_RETURN_IF_ERROR(wal::WriteAt(file->get(), EncodeSnapshotFile(snapshot), 0, temp));
  ETCPP_RETURN_IF_ERROR(wal::SyncFile(file->get(), temp));
  ETCPP_RETURN_IF_ERROR(wal::RenameFile(temp, path));
  ETCPP_RETURN_IF_ERROR(wal::SyncDir(dir_));
  return Purge();
}

Result<std::vector<std::string>> Snapshotter::ListForTesting() const {
  auto names = wal::ListDir(dir_);
  ETCPP_RETURN_IF_ERROR(names.status());
  std::vector<std::string> snapshots;
  std::copy_if(names->begin(), names->end(), std::back_inserter(snapshots), IsSnapshotName);
  return snapshots;
}

Status Snapshotter::Purge() const {
  auto names = wal::ListDir(dir_);
  ETCPP_RETURN_IF_ERROR(names.status());
  std::vector<std::string> snapshots;
  bool removed = false;
  for (const std::string& name : *names) {
    if (IsSnapshotName(name)) snapshots.push_back(name);
    // A temporary left by a crashed Save was never a snapshot anyone relied on.
    if (EndsWith(name, kTempSuffix)) {
      ETCPP_RETURN_IF_ERROR(wal::RemoveFile(wal::JoinPath(dir_, name)));
      removed = true;
    }
  }
  for (size_t i = 0; i + options_.keep < snapshots.size(); ++i) {
    ETCPP_RETURN_IF_ERROR(wal::RemoveFile(wal::JoinPath(dir_, snapshots[i])));
    removed = true;
  }
  return removed ? wal::SyncDir(dir_) : Status::Ok();
}

Result<raftpb::Snapshot> Snapshotter::LoadNewest() const {
  auto names = ListForTesting();
  ETCPP_RETURN_IF_ERROR(names.status());
  std::string contents;
  for (auto it = names->rbegin(); it != names->rend(); ++it) {
    std::string path = wal::JoinPath(dir_, *it);
    raftpb::Snapshot snapshot;
    Status status = wal::ReadWholeFile(path, &contents);
    if (status.ok()) status = DecodeSnapshotFile(contents, &snapshot);
    if (status.ok() && FileName(snapshot.metadata().term(), snapshot.metadata().index()) != *it) {
      status = Status(Code::kCorruption, "contents do not match the file name");
    }
    if (status.ok()) return snapshot;
    std::fprintf(stderr, "etcpp snap: skipping broken snapshot %s: %s\n", path.c_str(),
                 status.ToString().c_str());
  }
  return Status(Code::kNotFound, "snap: no valid snapshot in " + dir_);
}

}  // namespace etcpp::snap
