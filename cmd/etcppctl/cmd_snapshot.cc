// snapshot save and status: etcdctl's snapshot_command.go over clientv3/snapshot. Status
// reads etcd (bbolt) and etcpp (LMDB) snapshot files alike; restore is in snapshot_restore.cc.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "base/crc32c.h"
#include "boltdb.h"
#include "commands.h"
#include "global.h"
#include "lmdbfile.h"
#include "printer_rows.h"
#include "snapshot_log.h"

namespace etcpp::ctl {
namespace {

void SaveRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "snapshot save expects one argument");
  const std::string path = args[0];
  const std::string partial = path + ".part";
  const client::Config config = MustClientConfig(c);
  if (config.endpoints.size() != 1)
    ExitWithError(kExitInterrupted, "snapshot must be requested to one selected node, not multiple [" +
                                        Join(config.endpoints, " ") + "]");
  auto client = client::Client::Connect(config);
  if (!client.ok()) ExitWithError(kExitInterrupted, client.status().message());
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) ExitWithError(kExitInterrupted, "open " + partial + ": permission denied");
  LogInfo("snapshot/v3_snapshot.go:119", "created temporary db file", ",\"path\":\"" + partial + "\"", false);
  const auto start = std::chrono::steady_clock::now();
  bool opened = false;
  uint64_t size = 0;
  base::Status status = (*client)->Snapshot([&](const std::string& chunk) {
    if (!opened) {
      opened = true;
      LogInfo("clientv3/maintenance.go:200", "opened snapshot stream; downloading", "", true);
      LogInfo("snapshot/v3_snapshot.go:127", "fetching snapshot", ",\"endpoint\":\"" + config.endpoints[0] + "\"", false);
    }
    size += chunk.size();
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return out ? base::Status::Ok() : base::Status(base::Code::kIoError, "write " + partial + " failed");
  });
  out.close();
  if (status.ok()) LogInfo("clientv3/maintenance.go:208", "completed snapshot read; closing", "", true);
  // The stream ends with a SHA-256 of the data; without it the file cannot be verified.
  if (status.ok() && size % 512 != 32)
    status = base::Status(base::Code::kCorruption, "sha256 checksum not found [bytes: " + std::to_string(size) + "]");
  // Renamed into place only when complete, so `path` is never a torn snapshot.
  if (!status.ok() || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    ExitWithError(kExitInterrupted, status.ok() ? "rename " + partial + " failed" : status.message());
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took_text[32];
  std::snprintf(took_text, sizeof took_text, "%.9f", took);
  LogInfo("snapshot/v3_snapshot.go:142", "fetched snapshot",
          ",\"endpoint\":\"" + config.endpoints[0] + "\",\"size\":\"" + HumanizeBytes(size) + "\",\"took\":" + took_text,
          false);
  LogInfo("snapshot/v3_snapshot.go:152", "saved", ",\"path\":\"" + path + "\"", false);
  std::cout << "Snapshot saved at " << path << "\n";
}

void StatusRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "snapshot status requires exactly one argument");
  InitDisplay(c);
  const std::string& path = args[0];
  std::ifstream in(path, std::ios::binary);
  if (!in) ExitWithError(kExitError, "stat " + path + ": no such file or directory");
  std::string start(64, '\0');
  in.read(start.data(), static_cast<std::streamsize>(start.size()));
  start.resize(static_cast<size_t>(in.gcount()));
  uint32_t hash = 0;
  SnapshotStatus status;
  bool in_key_bucket = false;
  const BoltVisitor visitor{
      [&](std::string_view bucket) {
        hash = base::crc32c::Extend(hash, bucket);
        in_key_bucket = bucket == "key";
      },
      [&](std::string_view key, std::string_view value) {
        hash = base::crc32c::Extend(base::crc32c::Extend(hash, key), value);
        // A revision key starts with its main revision, big-endian (etcd's and etcpp's).
        if (in_key_bucket && key.size() >= 8) {
          uint64_t main = 0;
          for (int i = 0; i < 8; ++i) main = main << 8 | uint8_t(key[i]);
          status.revision = static_cast<int64_t>(main);
        }
        ++status.total_keys;
      }};
  // etcpp snapshots are LMDB files; anything else is read as etcd's bbolt, whose
  // reader gives etcd's own "invalid database" for garbage.
  auto info = DetectSnapshotFormat(start) == SnapshotFormat::kLmdb ? WalkLmdbFile(path, visitor)
                                                                   : WalkBoltFile(path, visitor);
  if (!info.ok()) ExitWithError(kExitError, info.status().message());
  status.hash = hash;
  status.total_size = static_cast<int64_t>(info->size_bytes);
  Display().DBStatus(status);
}

}  // namespace

std::unique_ptr<Command> NewSnapshotCommand() {
  auto snapshot = MakeCommand("snapshot <subcommand>", "Manages etcd node snapshots", nullptr);
  snapshot->Add(MakeCommand("save <filename>", "Stores an etcd node backend snapshot to a given file", SaveRun));
  snapshot->Add(MakeCommand("status <filename>", "Gets backend snapshot status of a given file", StatusRun));
  snapshot->Add(NewSnapshotRestoreCommand());
  return snapshot;
}

}  // namespace etcpp::ctl
