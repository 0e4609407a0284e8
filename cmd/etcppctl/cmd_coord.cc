// watch, lock and elect: etcdctl's watch_command.go ,
// lock_command.go and elect_command.go, over the client's Watcher and concurrency
// recipes. Each runs until SIGINT/SIGTERM, which lets it release what it holds.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>

#include "client/concurrency.h"
#include "client/watch.h"
#include "commands.h"
#include "global.h"

namespace etcpp::ctl {
namespace {

// Set by the signal handler; the waits poll it (a handler may only touch atomics).
client::Cancel g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

void CatchSignals() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

// Runs `argv` with `env` added to the environment; returns its exit status.
int RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& entry : env) putenv(const_cast<char*>(entry.c_str()));
    std::vector<char*> raw;
    for (const auto& arg : argv) raw.push_back(const_cast<char*>(arg.c_str()));
    raw.push_back(nullptr);
    execvp(raw[0], raw.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// The watch a command line asks for (etcdctl's getWatchChan); exits on bad arguments.
etcdserverpb::WatchCreateRequest WatchRequest(Command& c, const std::vector<std::string>& watch_args) {
  if (watch_args.empty() || watch_args.size() > 2) ExitWithError(kExitBadArgs, "bad number of arguments");
  etcdserverpb::WatchCreateRequest request;
  request.set_key(watch_args[0]);
  request.set_start_revision(c.GetInt("rev"));
  request.set_prev_kv(c.GetBool("prev-kv"));
  if (watch_args.size() == 2) {
    if (c.GetBool("prefix")) ExitWithError(kExitBadArgs, "`range_end` and `--prefix` are mutually exclusive");
    request.set_range_end(watch_args[1]);
  }
  if (c.GetBool("prefix")) request.set_range_end(client::PrefixRangeEnd(watch_args[0]));
  return request;
}

// Prints each response; with `exec`, runs it once per event as etcdctl does.
client::Watcher::Handler PrintWatch(std::vector<std::string> exec) {
  return [exec](const etcdserverpb::WatchResponse& response) {
    if (response.events_size() == 0) std::cout << "progress notify: " << response.header().revision() << "\n";
    Display().Watch(response);
    std::cout.flush();
    for (const auto& event : response.events()) {
      if (exec.empty()) break;
      const std::string type = event.type() == mvccpb::Event::PUT ? "PUT" : "DELETE";
      const int status = RunProgram(exec, {"ETCD_WATCH_REVISION=" + std::to_string(response.header().revision()),
                                           "ETCD_WATCH_EVENT_TYPE=" + GoQuote(type),
                                           "ETCD_WATCH_KEY=" + GoQuote(event.kv().key()),
                                           "ETCD_WATCH_VALUE=" + GoQuote(event.kv().value())});
      if (status != 0) {
        std::cerr << "command \"" << exec[0] << "\" error (exit status " << status << ")\n";
        Exit(kExitError);
      }
    }
  };
}

// -i: one "watch [options] key [range_end]" per stdin line, each a watch of its own.
void WatchInteractive(client::Client& client) {
  std::vector<std::unique_ptr<client::Watcher>> watchers;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string word; in >> word;) words.push_back(word);
    if (words.empty()) {
      std::cerr << "Invalid command: " << line << " (watch and progress supported)\n";
      continue;
    }
    if (words[0] != "watch") {
      std::cerr << "Invalid command " << line << " (only support watch)\n";
      continue;
    }
    auto command = NewWatchCommand();
    std::vector<std::string> positional;
    std::string error;
    if (!ParseFlagsQuietly(*command, {words.begin() + 1, words.end()}, &positional, &error))
      ExitWithError(kExitBadArgs, error);
    std::vector<std::string> exec;
    if (command->args_at_dash >= 0) {
      exec.assign(positional.begin() + command->args_at_dash, positional.end());
      positional.resize(static_cast<size_t>(command->args_at_dash));
    }
    if (positional.empty() || positional.size() > 2) {
      std::cerr << "Invalid command " << line << " (command type or key is not provided)\n";
      continue;
    }
    watchers.push_back(client::Watcher::Start(client, WatchRequest(*command, positional), PrintWatch(exec)));
  }
  ExitWithError(kExitInvalidInput, "Error reading watch request line: EOF");
}

void WatchRun(Command& c, const std::vector<std::string>& args) {
  const char* env_key = std::getenv("ETCDCTL_WATCH_KEY");
  const char* env_range = std::getenv("ETCDCTL_WATCH_RANGE_END");
  const bool has_env_key = env_key != nullptr && *env_key != '\0';
  if (!has_env_key && env_range != nullptr && *env_range != '\0')
    ExitWithError(kExitBadArgs, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=" + GoQuote(env_range));
  if (c.GetBool("interactive")) {
    auto client = MustClient(c);
    WatchInteractive(*client);
  }
  std::vector<std::string> watch_args = args;
  std::vector<std::string> exec;
  if (c.args_at_dash >= 0) {
    exec.assign(args.begin() + c.args_at_dash, args.end());
    watch_args.resize(static_cast<size_t>(c.args_at_dash));
    if (exec.empty()) ExitWithError(kExitBadArgs, "bad number of arguments (found separator --, but no commands)");
  }
  if (has_env_key) {
    if (!watch_args.empty()) ExitWithError(kExitBadArgs, "bad number of arguments (found conflicting environment key)");
    watch_args.push_back(env_key);
    if (env_range != nullptr && *env_range != '\0') watch_args.push_back(env_range);
  }
  const etcdserverpb::WatchCreateRequest request = WatchRequest(c, watch_args);
  auto client = MustClient(c);
  CatchSignals();
  auto watcher = client::Watcher::Start(*client, request, PrintWatch(exec));
  std::thread([&] {
    while (!g_interrupted.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    watcher->Stop();
  }).detach();
  base::Status ended = watcher->Wait();
  if (g_interrupted.load()) Exit(kExitSuccess);
  std::cerr << "watch was canceled (" << ended.message() << ")\n";
  ExitWithError(kExitInterrupted, "watch is canceled by the server");
}

void WaitForSignalOrExpiry(client::Session& session) {
  while (!g_interrupted.load() && !session.Expired()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

void LockRun(Command& c, const std::vector<std::string>& args) {
  if (args.empty()) ExitWithError(kExitBadArgs, "lock takes a lock name argument and an optional command to execute");
  auto client = MustClient(c);
  CatchSignals();
  auto session = client::Session::Create(*client, c.GetInt("ttl"));
  if (!session.ok()) ExitWithError(kExitError, session.status().message());
  client::Mutex mutex(**session, args[0]);
  base::Status locked = mutex.Lock(&g_interrupted);
  if (!locked.ok()) ExitWithError(kExitError, locked.message());
  if (args.size() > 1) {
    const int status = RunProgram({args.begin() + 1, args.end()},
                                  {"ETCD_LOCK_KEY=" + mutex.key(),
                                   "ETCD_LOCK_REV=" + std::to_string(mutex.header().revision())});
    base::Status unlocked = mutex.Unlock();
    if (status != 0) ExitWithError(kExitError, "exit status " + std::to_string(status));
    if (!unlocked.ok()) ExitWithError(kExitError, unlocked.message());
    Exit(kExitSuccess);
  }
  etcdserverpb::RangeRequest get;
  get.set_key(mutex.key());
  auto held = client->Range(get);
  if (!held.ok()) ExitWithError(kExitError, held.status().message());
  if (held->kvs_size() == 0) ExitWithError(kExitError, "lock lost on init");
  Display().Get(*held);
  std::cout.flush();
  WaitForSignalOrExpiry(**session);
  if (!g_interrupted.load()) ExitWithError(kExitError, "session expired");
  base::Status unlocked = mutex.Unlock();
  if (!unlocked.ok()) ExitWithError(kExitError, unlocked.message());
  Exit(kExitSuccess);
}

void ElectRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1 && args.size() != 2)
    ExitWithError(kExitBadArgs, "elect takes one election name argument and an optional proposal argument");
  const bool listen = c.GetBool("listen");
  if (args.size() == 1 && !listen) ExitWithError(kExitBadArgs, "no proposal argument but -l not set");
  if (args.size() == 2 && listen) ExitWithError(kExitBadArgs, "proposal given but -l is set");
  // A renewal period of at least the TTL would let the lease lapse between renewals.
  if (c.GetInt("period") < 0 || (c.GetInt("period") > 0 && c.GetInt("period") >= c.GetInt("ttl")))
    ExitWithError(kExitBadArgs, "--period must be shorter than --ttl");
  auto client = MustClient(c);
  CatchSignals();
  auto session = client::Session::Create(*client, c.GetInt("ttl"), std::chrono::seconds(c.GetInt("period")));
  if (!session.ok()) ExitWithError(kExitError, session.status().message());
  client::Election election(**session, args[0]);
  if (listen) {
    base::Status observed = election.Observe(
        [](const etcdserverpb::RangeResponse& leader) {
          Display().Get(leader);
          std::cout.flush();
        },
        &g_interrupted);
    if (!observed.ok()) ExitWithError(kExitError, observed.message());
    Exit(kExitSuccess);
  }
  base::Status won = election.Campaign(args[1], &g_interrupted);
  if (!won.ok()) ExitWithError(kExitError, won.message());
  etcdserverpb::RangeRequest get;
  get.set_key(election.key());
  auto leader = client->Range(get);
  if (!leader.ok()) ExitWithError(kExitError, leader.status().message());
  Display().Get(*leader);
  std::cout.flush();
  WaitForSignalOrExpiry(**session);
  if (!g_interrupted.load()) ExitWithError(kExitError, "elect: session expired");
  base::Status resigned = election.Resign();
  if (!resigned.ok()) ExitWithError(kExitError, resigned.message());
  Exit(kExitSuccess);
}

}  // namespace

std::unique_ptr<Command> NewWatchCommand() {
  auto c = MakeCommand("watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
                       "Watches events stream on keys or prefixes", WatchRun);
  c->AddFlag("interactive", "i", FlagType::kBool, "false", "Interactive mode");
  c->AddFlag("prefix", "", FlagType::kBool, "false", "Watch on a prefix if prefix is set");
  c->AddFlag("rev", "", FlagType::kInt, "0", "Revision to start watching");
  c->AddFlag("prev-kv", "", FlagType::kBool, "false", "get the previous key-value pair before the event happens");
  return c;
}

std::unique_ptr<Command> NewLockCommand() {
  auto c = MakeCommand("lock <lockname> [exec-command arg1 arg2 ...]", "Acquires a named lock", LockRun);
  c->AddFlag("ttl", "", FlagType::kInt, "10", "timeout for session");
  return c;
}

std::unique_ptr<Command> NewElectCommand() {
  auto c = MakeCommand("elect <election-name> [proposal]", "Observes and participates in leader election", ElectRun);
  c->AddFlag("listen", "l", FlagType::kBool, "false", "observation mode");
  c->AddFlag("ttl", "", FlagType::kInt, "60", "timeout for session (etcppctl)");
  c->AddFlag("period", "", FlagType::kInt, "0",
             "seconds between keep-alives of the session lease; 0: a third of --ttl (etcppctl)");
  return c;
}

}  // namespace etcpp::ctl
