// make-mirror: etcdctl's make_mirror_command.go over clientv3/mirror. Copies the keys
// under --prefix as of one revision, then follows the watch from the next revision,
// applying each source revision's events to the destination in one transaction.
#include <atomic>
#include <iostream>
#include <thread>

#include "client/watch.h"
#include "commands.h"
#include "global.h"

namespace etcpp::ctl {
namespace {

constexpr int64_t kBatchLimit = 1000;  // clientv3/mirror's batchLimit

struct Mirror {
  client::Client& source;
  client::Client& destination;
  std::string prefix;
  std::string dest_prefix;
  std::atomic<int64_t> total{0};

  std::string Rename(const std::string& key) const {
    const size_t at = prefix.empty() ? 0 : key.find(prefix);
    if (at == std::string::npos) return key;
    return key.substr(0, at) + dest_prefix + key.substr(at + prefix.size());
  }

  // Copies the state at `revision` (SyncBase), page by page.
  base::Status CopyBase(int64_t revision) {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix.empty() ? std::string(1, '\0') : prefix);
    request.set_range_end(prefix.empty() ? std::string(1, '\0') : client::PrefixRangeEnd(prefix));
    request.set_limit(kBatchLimit);
    request.set_revision(revision);
    for (;;) {
      auto page = source.Range(request);
      if (!page.ok()) return page.status();
      for (const auto& kv : page->kvs()) {
        etcdserverpb::PutRequest put;
        put.set_key(Rename(kv.key()));
        put.set_value(kv.value());
        auto done = destination.Put(put);
        if (!done.ok()) return done.status();
        ++total;
      }
      if (!page->more()) return base::Status::Ok();
      request.set_key(page->kvs(page->kvs_size() - 1).key() + std::string(1, '\0'));
    }
  }

  // Applies one watch response: the events of each source revision as one transaction.
  base::Status Apply(const etcdserverpb::WatchResponse& response) {
    etcdserverpb::TxnRequest txn;
    int64_t last_revision = 0;
    for (const auto& event : response.events()) {
      if (last_revision != 0 && event.kv().mod_revision() > last_revision) {
        ETCPP_RETURN_IF_ERROR(Commit(txn));
        txn.Clear();
      }
      last_revision = event.kv().mod_revision();
      if (event.type() == mvccpb::Event::PUT) {
        auto* put = txn.add_success()->mutable_request_put();
        put->set_key(Rename(event.kv().key()));
        put->set_value(event.kv().value());
      } else {
        txn.add_success()->mutable_request_delete_range()->set_key(Rename(event.kv().key()));
      }
      ++total;
    }
    return txn.success_size() > 0 ? Commit(txn) : base::Status::Ok();
  }

  base::Status Commit(const etcdserverpb::TxnRequest& txn) { return destination.Txn(txn).status(); }
};

void MakeMirrorRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "make-mirror takes one destination argument");
  client::Config destination_config = MustClientConfig(c);
  destination_config.endpoints = {args[0]};
  destination_config.username.clear();
  destination_config.password.clear();
  destination_config.tls.reset();
  if (!c.GetString("dest-cert").empty() || !c.GetString("dest-key").empty() || !c.GetString("dest-cacert").empty() ||
      !c.GetBool("dest-insecure-transport"))
    destination_config.tls = client::TlsConfig{c.GetString("dest-cacert"), c.GetString("dest-cert"), c.GetString("dest-key")};
  auto destination = client::Client::Connect(destination_config);
  if (!destination.ok()) ExitWithError(kExitBadConnection, destination.status().message());
  auto source = MustClient(c);
  Mirror mirror{*source, **destination, c.GetString("prefix"), c.GetString("dest-prefix")};
  std::thread([&mirror] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      std::cout << mirror.total.load() << std::endl;
    }
  }).detach();
  etcdserverpb::RangeRequest probe;  // as clientv3/mirror: the revision to copy at
  probe.set_key("foo");
  auto now = source->Range(probe);
  if (!now.ok()) ExitWithError(kExitError, now.status().message());
  const bool no_dest_prefix = c.GetBool("no-dest-prefix");
  if (no_dest_prefix && !mirror.dest_prefix.empty())
    ExitWithError(kExitBadArgs, "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one");
  if (!no_dest_prefix && mirror.dest_prefix.empty()) mirror.dest_prefix = mirror.prefix;
  base::Status copied = mirror.CopyBase(now->header().revision());
  if (!copied.ok()) ExitWithError(kExitError, copied.message());
  etcdserverpb::WatchCreateRequest request;
  request.set_key(mirror.prefix.empty() ? std::string(1, '\0') : mirror.prefix);
  request.set_range_end(mirror.prefix.empty() ? std::string(1, '\0') : client::PrefixRangeEnd(mirror.prefix));
  request.set_start_revision(now->header().revision() + 1);
  // The handler runs on the watcher's thread, possibly before Start has returned; it
  // finds the watcher through `self` to stop it after the first failed transaction.
  base::Status failed;
  std::atomic<client::Watcher*> self{nullptr};
  auto watcher = client::Watcher::Start(*source, request, [&](const etcdserverpb::WatchResponse& response) {
    if (failed.ok()) failed = mirror.Apply(response);  // nothing is applied after a failure
    if (!failed.ok())
      if (client::Watcher* w = self.load()) w->Stop();
  });
  self = watcher.get();
  base::Status ended = watcher->Wait();
  ExitWithError(kExitError, !failed.ok() ? failed.message() : ended.message());
}

}  // namespace

std::unique_ptr<Command> NewMakeMirrorCommand() {
  auto c = std::make_unique<Command>();
  c->use = "make-mirror [options] <destination>";
  c->short_help = "Makes a mirror at the destination etcd cluster";
  c->run = MakeMirrorRun;
  using T = FlagType;
  c->AddFlag("prefix", "", T::kString, "", "Key-value prefix to mirror");
  c->AddFlag("dest-prefix", "", T::kString, "",
             "destination prefix to mirror a prefix to a different prefix in the destination cluster");
  c->AddFlag("no-dest-prefix", "", T::kBool, "false", "mirror key-values to the root of the destination cluster");
  c->AddFlag("dest-cert", "", T::kString, "",
             "Identify secure client using this TLS certificate file for the destination cluster");
  c->AddFlag("dest-key", "", T::kString, "", "Identify secure client using this TLS key file");
  c->AddFlag("dest-cacert", "", T::kString, "", "Verify certificates of TLS enabled secure servers using this CA bundle");
  c->AddFlag("dest-insecure-transport", "", T::kBool, "true", "Disable transport security for client connections");
  return c;
}

}  // namespace etcpp::ctl
