// snapshot restore: a new etcpp data dir from an etcpp snapshot, as etcdctl's restore
// makes an etcd one (clientv3/snapshot Restore): the same flags, checks, messages and
// log lines. The keys come from the snapshot; the membership from the flags — the old
// member records are dropped, the ids computed from --initial-cluster and its token —
// and a fresh WAL and snapshot start the new cluster at index 1, written by the code
// etcpp itself bootstraps with (server/datadir.h).
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "commands.h"
#include "global.h"
#include "lmdbfile.h"
#include "printer_rows.h"
#include "server/datadir.h"
#include "server/member.h"
#include "snapshot_log.h"
#include "storage/backend/backend.h"

namespace etcpp::ctl {
namespace {

namespace fs = std::filesystem;

constexpr size_t kSha256Bytes = 32;

// Go's %v of a []byte: "[1 2 3]".
std::string GoBytes(std::string_view bytes) {
  std::string text = "[";
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) text += ' ';
    text += std::to_string(static_cast<unsigned char>(bytes[i]));
  }
  return text + "]";
}

// Go's %q of a []string: ["a" "b"].
std::string GoQuoted(const std::vector<std::string>& items) {
  std::string text = "[";
  for (size_t i = 0; i < items.size(); ++i) text += (i > 0 ? " \"" : "\"") + items[i] + "\"";
  return text + "]";
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    parts.push_back(text.substr(start, comma - start));
  parts.push_back(text.substr(start));
  return parts;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// etcd's checks of one peer URL (types.NewURLs); exits with its message.
void CheckPeerUrl(std::string url) {
  url.erase(0, url.find_first_not_of(" \t"));
  url.erase(url.find_last_not_of(" \t") + 1);
  const size_t separator = url.find("://");
  const std::string scheme = separator == std::string::npos ? "" : url.substr(0, separator);
  if (scheme != "http" && scheme != "https" && scheme != "unix" && scheme != "unixs")
    ExitWithError(kExitError, "URL scheme must be http, https, unix, or unixs: " + url);
  const size_t path = url.find('/', separator + 3);
  const std::string host = url.substr(separator + 3, path - (separator + 3));
  if (host.find(':') == std::string::npos)
    ExitWithError(kExitError, "URL address does not have the form \"host:port\": " + url);
  if (path != std::string::npos) ExitWithError(kExitError, "URL must not contain a path: " + url);
}

// etcd's VerifyBootstrap for a restore: this member is in the cluster, under the peer
// URLs it advertises.
serverpb::Member FindSelf(const std::vector<serverpb::Member>& members, const std::string& name,
                          std::vector<std::string> advertised) {
  const auto self = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.name() == name; });
  if (self == members.end())
    ExitWithError(kExitError, "couldn't find local name \"" + name + "\" in the initial cluster configuration");
  std::vector<std::string> listed(self->peer_urls().begin(), self->peer_urls().end());
  std::sort(advertised.begin(), advertised.end());
  if (listed == advertised) return *self;
  std::vector<std::string> missing;
  for (const auto& url : listed) {
    if (std::find(advertised.begin(), advertised.end(), url) == advertised.end()) missing.push_back(name + "=" + url);
  }
  // etcd compares after resolving host names; we compare the URLs as given.
  std::string why = "len(" + GoQuoted(advertised) + ") != len(" + GoQuoted(listed) + ")";
  if (listed.size() == advertised.size()) {
    const auto differ = std::mismatch(advertised.begin(), advertised.end(), listed.begin());
    why = "resolved urls: \"" + *differ.first + "\" != \"" + *differ.second + "\"";
  }
  if (!missing.empty()) {
    ExitWithError(kExitError, "--initial-cluster has " + Join(missing, ",") +
                                  " but missing from --initial-advertise-peer-urls=" + Join(advertised, ",") + " (" +
                                  why + ")");
  }
  std::vector<std::string> extra, advertised_map;
  for (const auto& url : advertised) {
    if (std::find(listed.begin(), listed.end(), url) == listed.end()) extra.push_back(url);
    advertised_map.push_back(name + "=" + url);
  }
  ExitWithError(kExitError, "--initial-advertise-peer-urls has " + Join(extra, ",") +
                                " but missing from --initial-cluster=" + Join(advertised_map, ","));
}

// The snapshot's database bytes, its SHA-256 trailer checked and removed.
std::string ReadSnapshot(const std::string& path, bool skip_hash_check) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ExitWithError(kExitError, "open " + path + ": no such file or directory");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < kSha256Bytes) ExitWithError(kExitError, "seek " + path + ": invalid argument");
  // etcd's test for a trailer: database files are whole 512-byte sectors, so 32 extra
  // bytes can only be the stream's digest.
  const bool has_hash = file.size() % 512 == kSha256Bytes;
  if (has_hash) {
    const std::string expected = file.substr(file.size() - kSha256Bytes);
    file.resize(file.size() - kSha256Bytes);
    const std::string actual = Sha256(file);
    if (!skip_hash_check && actual != expected)
      ExitWithError(kExitError, "expected sha256 " + GoBytes(expected) + ", got " + GoBytes(actual));
  } else if (!skip_hash_check) {
    ExitWithError(kExitError, "snapshot missing hash but --skip-hash-check=false");
  }
  switch (DetectSnapshotFormat(file)) {
    case SnapshotFormat::kLmdb:
      return file;
    case SnapshotFormat::kBolt:
      ExitWithError(kExitError, path + " is an etcd (bbolt) snapshot; etcppctl restores etcpp snapshots only " +
                                    "(restore it with etcdctl into an etcd data dir)");
    case SnapshotFormat::kUnknown:
      break;
  }
  ExitWithError(kExitError, path + " is not an etcpp snapshot: invalid database");
}

base::Status WriteDataDir(const std::string& database, const std::string& data_dir, const std::string& wal_dir,
                          const std::vector<serverpb::Member>& members, uint64_t self_id) {
  const fs::path member_dir = fs::path(data_dir) / "member";
  const std::string backend_dir = (member_dir / "backend").string();
  std::error_code ec;
  fs::create_directories(backend_dir, ec);
  if (ec) return base::Status(base::Code::kIoError, "mkdir " + backend_dir + ": " + ec.message());
  {
    std::ofstream out(backend_dir + "/data.mdb", std::ios::binary | std::ios::trunc);
    out.write(database.data(), static_cast<std::streamsize>(database.size()));
    if (!out.flush()) return base::Status(base::Code::kIoError, "write " + backend_dir + "/data.mdb failed");
  }
  backend::Config config;
  config.dir = backend_dir;
  auto backend = backend::Backend::Open(config);
  if (!backend.ok()) return backend.status();
  auto storage =
      server::InitializeMemberDataDir(backend->get(), wal_dir, (member_dir / "snap").string(), members, self_id);
  return storage.ok() ? base::Status::Ok() : storage.status();
}

void RestoreRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "snapshot restore requires exactly one argument");
  const std::string name = c.GetString("name");
  const std::string data_dir = c.GetString("data-dir").empty() ? name + ".etcd" : c.GetString("data-dir");
  const std::string wal_dir =
      c.GetString("wal-dir").empty() ? (fs::path(data_dir) / "member" / "wal").string() : c.GetString("wal-dir");
  for (const auto& url : Split(c.GetString("initial-advertise-peer-urls"))) CheckPeerUrl(url);
  for (const auto& entry : Split(c.GetString("initial-cluster"))) {
    if (!entry.empty()) CheckPeerUrl(entry.find('=') == std::string::npos ? "" : entry.substr(entry.find('=') + 1));
  }
  auto members = server::ParseInitialCluster(c.GetString("initial-cluster"), c.GetString("initial-cluster-token"));
  if (!members.ok()) ExitWithError(kExitError, members.status().message());
  const serverpb::Member self = FindSelf(*members, name, Split(c.GetString("initial-advertise-peer-urls")));
  if (fs::exists(data_dir)) ExitWithError(kExitError, "data-dir \"" + data_dir + "\" exists");
  if (!c.GetString("wal-dir").empty() && fs::exists(wal_dir))
    ExitWithError(kExitError, "wal-dir \"" + wal_dir + "\" exists");
  const std::string snap_dir = (fs::path(data_dir) / "member" / "snap").string();
  const std::string dirs = ",\"path\":\"" + args[0] + "\",\"wal-dir\":\"" + wal_dir + "\",\"data-dir\":\"" + data_dir +
                           "\",\"snap-dir\":\"" + snap_dir + "\"";
  LogInfo("snapshot/v3_snapshot.go:296", "restoring snapshot", dirs, false);
  const std::string database = ReadSnapshot(args[0], c.GetBool("skip-hash-check"));
  if (base::Status written = WriteDataDir(database, data_dir, wal_dir, *members, self.id()); !written.ok()) {
    // Neither directory existed before: nothing of the operator's is removed.
    std::error_code ignored;
    fs::remove_all(data_dir, ignored);
    fs::remove_all(wal_dir, ignored);
    ExitWithError(kExitError, written.message());
  }
  LogInfo("snapshot/v3_snapshot.go:309", "restored snapshot", dirs, false);
}

}  // namespace

std::unique_ptr<Command> NewSnapshotRestoreCommand() {
  auto c = MakeCommand("restore <filename> [options]", "Restores an etcd member snapshot to an etcd directory",
                       RestoreRun);
  c->AddFlag("data-dir", "", FlagType::kString, "", "Path to the data directory");
  c->AddFlag("wal-dir", "", FlagType::kString, "", "Path to the WAL directory (use --data-dir if none given)");
  c->AddFlag("initial-cluster", "", FlagType::kString, "default=http://localhost:2380",
             "Initial cluster configuration for restore bootstrap");
  c->AddFlag("initial-cluster-token", "", FlagType::kString, "etcd-cluster",
             "Initial cluster token for the etcd cluster during restore bootstrap");
  c->AddFlag("initial-advertise-peer-urls", "", FlagType::kString, "http://localhost:2380",
             "List of this member's peer URLs to advertise to the rest of the cluster");
  c->AddFlag("name", "", FlagType::kString, "default", "Human-readable name for this member");
  c->AddFlag("skip-hash-check", "", FlagType::kBool, "false",
             "Ignore snapshot integrity hash value (required if copied from data directory)");
  return c;
}

}  // namespace etcpp::ctl
