// get, put, del, compaction and ls (ours): etcdctl's get_command.go, put_command.go,
// del_command.go, compaction_command.go.
#include <charconv>
#include <iostream>
#include <set>

#include "commands.h"
#include "global.h"
#include "kv_ops.h"

namespace etcpp::ctl {
namespace {

void GetRun(Command& c, const std::vector<std::string>& args) {
  const etcdserverpb::RangeRequest request = GetOp(c, args);
  auto client = MustClient(c);
  auto response = client->Range(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  if (c.GetBool("print-value-only")) {
    auto printer = NewValueOnlyPrinter(c.GetString("write-out"), c.GetBool("hex"));
    if (!printer) ExitWithError(kExitBadArgs, "print-value-only is only for `--write-out=simple`");
    printer->Get(*response);
    return;
  }
  Display().Get(*response);
}

void PutRun(Command& c, const std::vector<std::string>& args) {
  etcdserverpb::PutRequest request = PutOp(c, args);
  const int64_t ttl = c.GetInt("ttl");
  if (ttl > 0 && request.lease() != 0)
    ExitWithError(kExitBadArgs, "--ttl and --lease cannot be set at the same time, choose one");
  auto client = MustClient(c);
  if (ttl > 0) {
    // Our extension: a lease of its own, so the key expires after `ttl` seconds.
    etcdserverpb::LeaseGrantRequest grant;
    grant.set_ttl(ttl);
    auto granted = client->LeaseGrant(grant);
    if (!granted.ok()) ExitWithError(kExitError, granted.status().message());
    request.set_lease(granted->id());
  }
  auto response = client->Put(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().Put(*response);
}

void DelRun(Command& c, const std::vector<std::string>& args) {
  const etcdserverpb::DeleteRangeRequest request = DelOp(c, args);
  auto client = MustClient(c);
  auto response = client->DeleteRange(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().Del(*response);
}

void CompactionRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "compaction command needs 1 argument");
  int64_t revision = 0;
  const std::string& text = args[0];
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), revision);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    ExitWithError(kExitError, "strconv.ParseInt: parsing " + GoQuote(text) + ": invalid syntax");
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(c.GetBool("physical"));
  auto client = MustClient(c);
  auto response = client->Compact(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  std::cout << "compacted revision " << revision << "\n";
}

// ls: the children of PREFIX as a directory tree (v2's `ls`), from one keys-only range.
void LsRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() > 1) ExitWithError(kExitBadArgs, "ls takes at most one prefix argument");
  std::string prefix = args.empty() ? "/" : args[0];
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  etcdserverpb::RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(client::PrefixRangeEnd(prefix));
  request.set_keys_only(true);
  auto client = MustClient(c);
  auto response = client->Range(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  const bool recursive = c.GetBool("recursive");
  std::set<std::string> entries;
  for (const auto& kv : response->kvs()) {
    const std::string rest = kv.key().substr(prefix.size());
    size_t slash = rest.find('/');
    if (!recursive) {
      // A key below a child "directory" shows as that directory.
      entries.insert(prefix + rest.substr(0, slash == std::string::npos ? rest.size() : slash + 1));
      continue;
    }
    for (; slash != std::string::npos; slash = rest.find('/', slash + 1))
      entries.insert(prefix + rest.substr(0, slash + 1));
    entries.insert(kv.key());
  }
  for (const auto& entry : entries) std::cout << entry << "\n";
}

}  // namespace

std::unique_ptr<Command> NewGetCommand() {
  auto c = MakeCommand("get [options] <key> [range_end]", "Gets the key or a range of keys");
  AddGetFlags(*c);
  c->run = GetRun;
  return c;
}

std::unique_ptr<Command> NewPutCommand() {
  auto c = MakeCommand("put [options] <key> <value> (<value> can also be given from stdin)",
                       "Puts the given key into the store");
  c->long_help = R"(
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
)";
  AddPutFlags(*c);
  c->AddFlag("ttl", "", FlagType::kInt, "0",
             "grant a lease of this many seconds and attach the key to it (etcppctl)");
  c->run = PutRun;
  return c;
}

std::unique_ptr<Command> NewDelCommand() {
  auto c = MakeCommand("del [options] <key> [range_end]",
                       "Removes the specified key or range of keys [key, range_end)");
  AddDelFlags(*c);
  c->run = DelRun;
  return c;
}

std::unique_ptr<Command> NewCompactionCommand() {
  auto c = MakeCommand("compaction [options] <revision>", "Compacts the event history in etcd");
  c->AddFlag("physical", "", FlagType::kBool, "false",
             "'true' to wait for compaction to physically remove all old revisions");
  c->run = CompactionRun;
  return c;
}

std::unique_ptr<Command> NewLsCommand() {
  auto c = MakeCommand("ls [options] [prefix]", "Lists keys under a prefix as a directory tree (etcppctl)");
  c->AddFlag("recursive", "r", FlagType::kBool, "false", "list all keys below the prefix, not only its children");
  c->run = LsRun;
  return c;
}

}  // namespace etcpp::ctl
