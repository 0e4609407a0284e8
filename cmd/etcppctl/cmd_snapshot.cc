// snapshot save and status: etcdctl's snapshot_command.go over clientv3/snapshot.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "boltdb.h"
#include "commands.h"
#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {
namespace {

// CRC-32C (Castagnoli), the hash etcd's snapshot status uses.
class Crc32c {
 public:
  void Update(std::string_view bytes) {
    static const auto table = [] {
      std::array<uint32_t, 256> t{};
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78 ^ (c >> 1) : c >> 1;
        t[i] = c;
      }
      return t;
    }();
    for (unsigned char b : bytes) crc_ = table[(crc_ ^ b) & 0xff] ^ (crc_ >> 8);
  }
  uint32_t Sum() const { return ~crc_; }

 private:
  uint32_t crc_ = ~0u;
};

// The zap lines etcdctl's snapshot code logs on stderr. Its snapshot package stamps them
// with epoch seconds, the client's maintenance code with ISO-8601 time.
void LogInfo(const std::string& caller, const std::string& message, const std::string& fields, bool iso_time) {
  const auto now = std::chrono::system_clock::now();
  char ts[64];
  if (iso_time) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    const size_t n = std::strftime(ts, sizeof ts, "\"%Y-%m-%dT%H:%M:%S", &tm);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::snprintf(ts + n, sizeof ts - n, ".%03lldZ\"", static_cast<long long>(millis));
  } else {
    std::snprintf(ts, sizeof ts, "%.7f", std::chrono::duration<double>(now.time_since_epoch()).count());
  }
  std::cerr << "{\"level\":\"info\",\"ts\":" << ts << ",\"caller\":\"" << caller << "\",\"msg\":\"" << message << "\""
            << fields << "}\n";
}

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
  Crc32c hash;
  SnapshotStatus status;
  bool in_key_bucket = false;
  auto info = WalkBoltFile(args[0], BoltVisitor{
                                        [&](std::string_view bucket) {
                                          hash.Update(bucket);
                                          in_key_bucket = bucket == "key";
                                        },
                                        [&](std::string_view key, std::string_view value) {
                                          hash.Update(key);
                                          hash.Update(value);
                                          // A revision key starts with its main revision, big-endian.
                                          if (in_key_bucket && key.size() >= 8) {
                                            uint64_t main = 0;
                                            for (int i = 0; i < 8; ++i) main = main << 8 | uint8_t(key[i]);
                                            status.revision = static_cast<int64_t>(main);
                                          }
                                          ++status.total_keys;
                                        }});
  if (!info.ok()) ExitWithError(kExitError, info.status().message());
  status.hash = hash.Sum();
  status.total_size = static_cast<int64_t>(info->size_bytes);
  Display().DBStatus(status);
}

}  // namespace

std::unique_ptr<Command> NewSnapshotCommand() {
  auto snapshot = MakeCommand("snapshot <subcommand>", "Manages etcd node snapshots", nullptr);
  snapshot->Add(MakeCommand("save <filename>", "Stores an etcd node backend snapshot to a given file", SaveRun));
  snapshot->Add(MakeCommand("status <filename>", "Gets backend snapshot status of a given file", StatusRun));
  return snapshot;
}

}  // namespace etcpp::ctl
