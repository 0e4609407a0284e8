// etcpp-bench: a load generator with the commands, flags and output of etcd's
// `benchmark` tool (put, range, txn-put, txn-mixed, watch, watch-latency,
// lease-keepalive), over the etcpp client library's connections and the async gRPC API.
//
//   etcpp-bench [global flags] COMMAND [args] [flags]
#include <absl/synchronization/mutex.h>
#include <sys/resource.h>

#include <algorithm>
#include <iostream>
#include <random>

#include "workloads.h"

namespace etcpp::bench {

std::string VarintKey(int64_t index, size_t size) {
  // Go's binary.PutVarint: zig-zag, then 7 bits per byte, low bits first.
  uint64_t value = (static_cast<uint64_t>(index) << 1) ^ static_cast<uint64_t>(index >> 63);
  std::string key(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    key[i] = static_cast<char>((value & 0x7f) | (value >= 0x80 ? 0x80 : 0));
    value >>= 7;
    if (value == 0) break;
  }
  return key;
}

std::string RandomBytes(size_t size) {
  static std::mt19937_64 random(std::random_device{}());
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

void DefineGlobalFlags(Flags& flags) {
  flags.Define("endpoints", "127.0.0.1:2379", "gRPC endpoints");
  flags.Define("conns", "1", "Total number of gRPC connections");
  flags.Define("clients", "1", "Total number of gRPC clients");
  flags.Define("precise", "false", "use full floating point precision", Flags::Kind::kBool);
  flags.Define("json", "false", "print the results as one JSON object (etcpp's addition)", Flags::Kind::kBool);
  flags.Define("cert", "", "identify HTTPS client using this SSL certificate file");
  flags.Define("key", "", "identify HTTPS client using this SSL key file");
  flags.Define("cacert", "", "verify certificates of HTTPS-enabled servers using this CA bundle");
  flags.Define("user", "", "provide username[:password] and prompt if password is not supplied.");
  flags.Define("dial-timeout", "2s", "dial timeout for client connections");
  flags.Define("target-leader", "false", "connect only to the leader node", Flags::Kind::kBool);
}

// Go durations as etcd's flags take them, in the units that make sense here.
base::Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit(end);
  const double ms = unit == "ms" ? value : unit == "s" ? value * 1000 : unit == "m" ? value * 60000 : -1;
  if (text.empty() || ms < 0)
    return base::Status(base::Code::kInvalidArgument, "invalid argument \"" + text + "\" for \"--dial-timeout\" flag: time: invalid duration \"" + text + "\"");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

base::Result<GlobalOptions> GlobalsFrom(const Flags& flags) {
  GlobalOptions options;
  std::string endpoints = flags.String("endpoints");
  for (size_t start = 0; start <= endpoints.size();) {
    size_t comma = endpoints.find(',', start);
    if (comma == std::string::npos) comma = endpoints.size();
    if (comma > start) options.endpoints.push_back(endpoints.substr(start, comma - start));
    start = comma + 1;
  }
  options.conns = static_cast<int>(flags.Int("conns"));
  options.clients = static_cast<int>(flags.Int("clients"));
  options.precise = flags.Bool("precise");
  options.json = flags.Bool("json");
  options.target_leader = flags.Bool("target-leader");
  options.user = flags.String("user");
  options.tls = {flags.String("cacert"), flags.String("cert"), flags.String("key"), false};
  options.use_tls = !options.tls.ca_file.empty() || !options.tls.cert_file.empty();
  auto dial = ParseDuration(flags.String("dial-timeout"));
  if (!dial.ok()) return dial.status();
  options.dial_timeout = *dial;
  if (options.conns < 1 || options.clients < 1)
    return base::Status(base::Code::kInvalidArgument, "--conns and --clients must be at least 1");
  return options;
}

std::vector<Command> AllCommands() {
  auto commands = UnaryCommands();
  for (auto& c : StreamCommands()) commands.push_back(std::move(c));
  return commands;
}

void PrintHelp(const std::vector<Command>& commands) {
  Flags globals;
  DefineGlobalFlags(globals);
  std::cout << "etcpp-bench is a low-level benchmark tool for etcd3 (and etcpp).\n\n"
               "Usage:\n  etcpp-bench [command]\n\nAvailable Commands:\n";
  for (const auto& c : commands) {
    std::string name = "  " + c.name;
    name.resize(20, ' ');
    std::cout << name << c.short_help << "\n";
  }
  std::cout << "\nFlags:\n" << globals.Usage();
}

// The index of the command's name in args: the first argument that is neither a flag
// nor the value of a global flag given as "--flag value".
size_t FindCommand(const std::vector<std::string>& args, const Flags& globals_template) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.empty() || arg[0] != '-') return i;
    if (arg.find('=') != std::string::npos) continue;
    Flags single = globals_template;
    if (single.Parse({arg}).ok()) continue;  // a boolean flag
    if (single.Parse({arg, "0"}).ok()) ++i;  // a flag with its value next
  }
  return args.size();
}

}  // namespace

int PrintReports(const GlobalOptions& options, const std::vector<Report*>& reports,
                 const std::vector<std::string>& titles) {
  if (options.json) {
    nlohmann::json out;
    for (Report* r : reports) out[r->name()] = r->Json();
    // What the benchmark itself cost: requests per CPU-second of this process says
    // whether the tool or the server was the limit.
    out["client_cpu_secs"] = CpuSeconds();
    std::cout << out.dump() << "\n";
    return 0;
  }
  for (size_t i = 0; i < reports.size(); ++i) {
    std::cout << titles[i] << reports[i]->Text(options.precise);
    if (reports.size() > 1) std::cout << "\n";
  }
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const auto commands = AllCommands();
  Flags globals;
  DefineGlobalFlags(globals);
  const size_t at = FindCommand(args, globals);
  const bool asked = std::find(args.begin(), args.begin() + static_cast<long>(at), "--help") !=
                        args.begin() + static_cast<long>(at) ||
                    (at < args.size() && args[at] == "help");
  if (at == args.size() || asked) {
    PrintHelp(commands);
    return asked ? 0 : 1;
  }
  const Command* command = nullptr;
  for (const auto& c : commands)
    if (c.name == args[at]) command = &c;
  if (command == nullptr) {
    std::cerr << "Error: unknown command \"" << args[at] << "\" for \"etcpp-bench\"\n";
    return 1;
  }
  Flags flags = globals;
  command->define(flags);
  std::vector<std::string> rest(args.begin(), args.begin() + static_cast<long>(at));
  rest.insert(rest.end(), args.begin() + static_cast<long>(at) + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::cout << command->short_help << "\n\nUsage:\n  etcpp-bench " << command->usage
                << " [flags]\n\nFlags:\n" << flags.Usage();
      return 0;
    }
  }
  if (auto status = flags.Parse(rest); !status.ok()) {
    std::cerr << "Error: " << status.message() << "\n";
    return 1;
  }
  auto options = GlobalsFrom(flags);
  if (!options.ok()) {
    std::cerr << "Error: " << options.status().message() << "\n";
    return 1;
  }
  // Debian's abseil is built with its debug checks: every mutex gRPC creates and destroys
  // (several per call) would update a global lock-order graph, a few per cent of the
  // tool's CPU. A load generator has no use for deadlock detection.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto engine = Engine::Connect(*options);
  if (!engine.ok()) {
    std::cerr << "dial error: " << engine.status().message() << "\n";
    return 1;
  }
  return command->run(**engine, *options, flags);
}

}  // namespace etcpp::bench

int main(int argc, char** argv) { return etcpp::bench::Main(argc, argv); }
