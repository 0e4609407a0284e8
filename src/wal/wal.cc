#include "wal/wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

namespace etcpp::wal {
namespace {

using base::Code;
using base::Result;
using base::Status;

constexpr char kSegmentSuffix[] = ".wal";
constexpr char kTempSuffix[] = ".wal.tmp";

std::string SegmentName(uint64_t sequence, uint64_t first_index) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 "%s", sequence, first_index,
                kSegmentSuffix);
  return name;
}

// Parses "<16 hex>-<16 hex>.wal"; anything else in the directory is not a segment.
bool ParseSegmentName(const std::string& name, uint64_t* sequence, uint64_t* first_index) {
  if (name.size() != 16 + 1 + 16 + 4 || name.compare(33, 4, kSegmentSuffix) != 0 ||
      name[16] != '-') {
    return false;
  }
  auto hex = [&name](size_t at, uint64_t* out) {
    *out = 0;
    for (size_t i = at; i < at + 16; ++i) {
      char c = name[i];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (v < 0) return false;
      *out = (*out << 4) | static_cast<uint64_t>(v);
    }
    return true;
  };
  return hex(0, sequence) && hex(17, first_index);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsEmptyHardState(const raftpb::HardState& s) {
  return s.term() == 0 && s.vote() == 0 && s.commit() == 0;
}

// flock on the directory: held while a Wal lives, released by the kernel when the
// process dies (so a crashed member never leaves a stale lock behind).
Result<UniqueFd> LockDir(const std::string& dir) {
  auto fd = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  ETCPP_RETURN_IF_ERROR(fd.status());
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status(Code::kUnavailable, "wal: " + dir + " is in use by another Wal");
    }
    return ErrnoStatus("flock", dir);
  }
  return std::move(fd).value();
}

struct DirListing {
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // (sequence, first index), sorted
  std::vector<std::string> temps;                       // leftovers of an interrupted Cut
};

Result<DirListing> ListSegments(const std::string& dir) {
  auto names = ListDir(dir);
  ETCPP_RETURN_IF_ERROR(names.status());
  DirListing listing;
  for (const std::string& name : *names) {
    uint64_t sequence, first_index;
    if (ParseSegmentName(name, &sequence, &first_index)) {
      listing.segments.emplace_back(sequence, first_index);
    } else if (EndsWith(name, kTempSuffix)) {
      listing.temps.push_back(name);
    }
  }
  // Names are fixed-width hex, so ListDir's order is sequence order already.
  for (size_t i = 1; i < listing.segments.size(); ++i) {
    uint64_t expected = listing.segments[i - 1].first + 1;
    if (listing.segments[i].first != expected) {
      bool duplicate = listing.segments[i].first + 1 == expected;
      return Status(Code::kCorruption, "wal: " + dir + ": segment " +
                                           SegmentName(expected - duplicate, 0).substr(0, 16) +
                                           (duplicate ? "-* exists twice" : "-* is missing"));
    }
  }
  return listing;
}

}  // namespace

Status Options::Validate() const {
  if (segment_bytes < 4096) {
    return Status(Code::kInvalidArgument, "wal: segment_bytes must be at least 4096");
  }
  return Status::Ok();
}

Wal::Wal(std::string dir, const Options& options, UniqueFd dir_lock)
    : dir_(std::move(dir)), options_(options), dir_lock_(std::move(dir_lock)) {}

std::string Wal::PathOf(const Segment& segment) const {
  return JoinPath(dir_, SegmentName(segment.sequence, segment.first_index));
}

Result<std::unique_ptr<Wal>> Wal::Create(const std::string& dir, const Metadata& metadata,
                                         const Options& options) {
  ETCPP_RETURN_IF_ERROR(options.Validate());
  ETCPP_RETURN_IF_ERROR(CreateDir(dir));
  auto lock = LockDir(dir);
  ETCPP_RETURN_IF_ERROR(lock.status());
  auto listing = ListSegments(dir);
  ETCPP_RETURN_IF_ERROR(listing.status());
  if (!listing->segments.empty()) {
    return Status(Code::kAlreadyExists, "wal: " + dir + " already holds a log");
  }
  std::unique_ptr<Wal> wal(new Wal(dir, options, std::move(lock).value()));
  wal->metadata_ = metadata;
  ETCPP_RETURN_IF_ERROR(wal->Cut());
  return wal;
}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, const SnapshotMarker& marker,
                                       ReplayResult* replay, const Options& options) {
  ETCPP_RETURN_IF_ERROR(options.Validate());
  auto lock = LockDir(dir);
  ETCPP_RETURN_IF_ERROR(lock.status());
  auto listing = ListSegments(dir);
  ETCPP_RETURN_IF_ERROR(listing.status());
  if (listing->segments.empty()) return Status(Code::kNotFound, "wal: no segments in " + dir);

  std::unique_ptr<Wal> wal(new Wal(dir, options, std::move(lock).value()));
  Replayer replayer(marker);
  SegmentEnd end;
  std::string data;
  for (size_t i = 0; i < listing->segments.size(); ++i) {
    Segment segment{listing->segments[i].first, listing->segments[i].second};
    ETCPP_RETURN_IF_ERROR(ReadWholeFile(wal->PathOf(segment), &data));
    bool is_last = i + 1 == listing->segments.size();
    auto scanned = replayer.ScanSegment(wal->PathOf(segment), data, segment.sequence, is_last);
    ETCPP_RETURN_IF_ERROR(scanned.status());
    end = *scanned;
    wal->segments_.push_back(segment);
    if (is_last) wal->allocated_bytes_ = std::max<uint64_t>(data.size(), options.segment_bytes);
  }
  auto result = replayer.Finish();
  ETCPP_RETURN_IF_ERROR(result.status());

  // Only now, with the whole log found sound, is anything on disk changed.
  const Segment& last = wal->segments_.back();
  auto file = OpenFile(wal->PathOf(last), O_WRONLY);
  ETCPP_RETURN_IF_ERROR(file.status());
  wal->file_ = std::move(file).value();
  if (end.torn) {
    ETCPP_RETURN_IF_ERROR(wal->Repair(wal->PathOf(last), end));
  } else {
    // The records just replayed may still be only in the page cache (the process that
    // wrote them may have died before its fdatasync returned); raft is about to treat
    // them as persisted, so they must be.
    ETCPP_RETURN_IF_ERROR(SyncData(wal->file_.get(), wal->PathOf(last)));
  }
  for (const std::string& temp : listing->temps) {
    ETCPP_RETURN_IF_ERROR(RemoveFile(JoinPath(dir, temp)));
  }
  if (!listing->temps.empty()) ETCPP_RETURN_IF_ERROR(SyncDir(dir));

  wal->offset_ = end.offset;
  // Where the preamble ended is not known here; 0 lets a full segment be cut at once.
  wal->preamble_end_ = 0;
  wal->crc_ = end.crc;
  wal->metadata_ = result->metadata;
  wal->hard_state_ = replayer.hard_state();
  wal->snapshot_ = replayer.latest_snapshot();
  wal->last_index_ = replayer.last_written_index();
  *replay = std::move(result).value();
  return wal;
}

// Cuts the torn tail off: everything from end.offset on is an unfinished write that was
// never acknowledged. Truncating and re-preallocating turns it back into zeros, and the
// fsync makes that durable before anything new is appended after it — otherwise a
// later crash could resurrect the torn bytes behind new records.
Status Wal::Repair(const std::string& path, const SegmentEnd& end) {
  std::fprintf(stderr,
               "etcpp wal: repairing torn tail of %s at offset %" PRIu64 " (%s): cutting %" PRIu64
               " bytes\n",
               path.c_str(), end.offset, end.torn_reason.c_str(), allocated_bytes_ - end.offset);
  if (::ftruncate(file_.get(), static_cast<off_t>(end.offset)) != 0) {
    return ErrnoStatus("ftruncate", path);
  }
  ETCPP_RETURN_IF_ERROR(Preallocate(file_.get(), allocated_bytes_, path));
  return SyncFile(file_.get(), path);
}

Status Wal::Cut() {
  Segment segment;
  if (!segments_.empty()) segment.sequence = segments_.back().sequence + 1;
  segment.first_index = last_index_ + 1;
  std::string path = PathOf(segment);
  std::string temp = path.substr(0, path.size() - 4) + kTempSuffix;

  // The preamble repeats what replay must know even after older segments are released.
  WriteEncoder encoder(&buffer_, crc_);
  encoder.Add(AppendSegmentHeader, SegmentHeader{segment.sequence, crc_});
  encoder.Add(AppendMetadata, metadata_);
  if (snapshot_.index != 0) encoder.Add(AppendSnapshot, snapshot_);
  if (!IsEmptyHardState(hard_state_)) encoder.Add(AppendHardState, hard_state_);
  uint32_t crc = encoder.Finish();

  // Built under a temporary name and renamed only once complete and synced, so a crash
  // never leaves a segment without its header; the directory fsync makes the rename
  // itself durable. fsync (not fdatasync) because fallocate changed the file's size.
  auto file = OpenFile(temp, O_WRONLY | O_CREAT | O_TRUNC);
  ETCPP_RETURN_IF_ERROR(file.status());
  ETCPP_RETURN_IF_ERROR(Preallocate(file->get(), options_.segment_bytes, temp));
  ETCPP_RETURN_IF_ERROR(WriteAt(file->get(), buffer_, 0, temp));
  ETCPP_RETURN_IF_ERROR(SyncFile(file->get(), temp));
  ETCPP_RETURN_IF_ERROR(RenameFile(temp, path));
  ETCPP_RETURN_IF_ERROR(SyncDir(dir_));

  file_ = std::move(file).value();
  segments_.push_back(segment);
  offset_ = buffer_.size();
  preamble_end_ = offset_;
  allocated_bytes_ = options_.segment_bytes;
  crc_ = crc;
  return Status::Ok();
}

Status Wal::CutIfFull(uint64_t bytes) {
  if (offset_ + bytes <= options_.segment_bytes || offset_ == preamble_end_) {
    return Status::Ok();
  }
  // Everything in the current segment is already synced (each write is), so the new
  // segment can start at once.
  Status status = Cut();
  if (!status.ok()) failed_ = status;
  return status;
}

Status Wal::WriteBuffer(uint32_t crc_after) {
  const std::string path = PathOf(segments_.back());
  Status status;
  // A batch larger than what is left is given room first, so a record's length never
  // points past the end of the file (the torn-tail rule relies on it) and fdatasync
  // still has no size change to journal.
  if (offset_ + buffer_.size() > allocated_bytes_) {
    status = Preallocate(file_.get(), offset_ + buffer_.size(), path);
    if (status.ok()) status = SyncFile(file_.get(), path);
    if (status.ok()) allocated_bytes_ = offset_ + buffer_.size();
  }
  if (status.ok()) status = WriteAt(file_.get(), buffer_, offset_, path);
  if (status.ok()) status = SyncData(file_.get(), path);
  if (!status.ok()) {
    failed_ = status;
    return status;
  }
  offset_ += buffer_.size();
  crc_ = crc_after;
  return Status::Ok();
}

Status Wal::Save(const raftpb::HardState& state, std::span<const raftpb::Entry> entries) {
  ETCPP_RETURN_IF_ERROR(failed_);
  bool has_state = !IsEmptyHardState(state);
  if (!has_state && entries.empty()) return Status::Ok();
  // Sizes first: a cut changes the chain seed, so records are encoded only after it.
  uint64_t bytes = has_state ? kRecordHeaderBytes + 24 : 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    ETCPP_ASSERT_MSG(i == 0 || entries[i].index() == entries[i - 1].index() + 1,
                     "raft hands the WAL contiguous entries");
    if (entries[i].data().size() > kRecordPayloadBytesMax - 20) {
      return Status(Code::kInvalidArgument, "wal: entry " + std::to_string(entries[i].index()) +
                                                " is larger than a record may be");
    }
    bytes += kRecordHeaderBytes + 20 + entries[i].data().size();
  }
  ETCPP_RETURN_IF_ERROR(CutIfFull(bytes));
  WriteEncoder encoder(&buffer_, crc_);
  for (const raftpb::Entry& entry : entries) encoder.Add(AppendEntry, entry);
  if (has_state) encoder.Add(AppendHardState, state);
  uint32_t crc = encoder.Finish();
  ETCPP_ASSERT(buffer_.size() == bytes);
  ETCPP_RETURN_IF_ERROR(WriteBuffer(crc));
  if (has_state) hard_state_ = state;
  if (!entries.empty()) last_index_ = entries.back().index();
  return Status::Ok();
}

Status Wal::SaveSnapshot(const SnapshotMarker& marker) {
  ETCPP_RETURN_IF_ERROR(failed_);
  ETCPP_RETURN_IF_ERROR(CutIfFull(kRecordHeaderBytes + 16));
  WriteEncoder encoder(&buffer_, crc_);
  encoder.Add(AppendSnapshot, marker);
  uint32_t crc = encoder.Finish();
  ETCPP_RETURN_IF_ERROR(WriteBuffer(crc));
  snapshot_ = marker;
  return Status::Ok();
}

Status Wal::ReleaseTo(uint64_t index) {
  ETCPP_RETURN_IF_ERROR(failed_);
  // Segment k holds no live entry at or above segment k+1's first index (that index was
  // one past the last entry written when k+1 was started), so k is covered once
  // first_index(k+1) <= index + 1.
  // Oldest first, each removal synced before the next, so whatever a crash or an error
  // leaves behind is still a contiguous run of segments (a gap would be refused).
  while (segments_.size() > 1 && segments_[1].first_index <= index + 1) {
    ETCPP_RETURN_IF_ERROR(RemoveFile(PathOf(segments_.front())));
    segments_.erase(segments_.begin());
    ETCPP_RETURN_IF_ERROR(SyncDir(dir_));
  }
  return Status::Ok();
}

std::vector<std::string> Wal::SegmentNamesForTesting() const {
  std::vector<std::string> names;
  for (const Segment& segment : segments_)
    names.push_back(SegmentName(segment.sequence, segment.first_index));
  return names;
}

}  // namespace etcpp::wal
