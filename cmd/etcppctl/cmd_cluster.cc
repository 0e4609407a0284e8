// Cluster and maintenance commands: member, endpoint, alarm, defrag, move-leader,
// version (etcdctl's member_command.go, ep_command.go, alarm_command.go,
// defrag_command.go, move_leader_command.go, version_command.go).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {
namespace {

uint64_t MemberIdFromArg(const std::string& arg) {
  uint64_t id = 0;
  const auto [end, error] = std::from_chars(arg.data(), arg.data() + arg.size(), id, 16);
  if (arg.empty() || error != std::errc() || end != arg.data() + arg.size())
    ExitWithError(kExitBadArgs, "bad member ID arg (strconv.ParseUint: parsing " + GoQuote(arg) +
                                    ": invalid syntax), expecting ID in Hex");
  return id;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + 1)
    parts.push_back(text.substr(start, at - start));
  parts.push_back(text.substr(start));
  return parts;
}

void MemberAddRun(Command& c, const std::vector<std::string>& args) {
  if (args.empty()) ExitWithError(kExitBadArgs, "member name not provided");
  if (args.size() > 1) {
    std::string error = "too many arguments";
    for (const auto& s : args) {
      std::string lower = s;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("http", 0) == 0) error += ", did you mean --peer-urls=" + s;
    }
    ExitWithError(kExitBadArgs, error);
  }
  const std::string urls = c.GetString("peer-urls");
  if (urls.empty()) ExitWithError(kExitBadArgs, "member peer urls not provided");
  etcdserverpb::MemberAddRequest request;
  for (const auto& url : Split(urls, ',')) request.add_peerurls(url);
  request.set_islearner(c.GetBool("learner"));
  auto response = MustClient(c)->MemberAdd(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().MemberAdd(*response);
  if (c.GetString("write-out") != "simple") return;
  std::vector<std::string> conf;
  for (const auto& member : response->members()) {
    for (const auto& url : member.peerurls())
      conf.push_back((member.id() == response->member().id() ? args[0] : member.name()) + "=" + url);
  }
  std::cout << "\nETCD_NAME=" << GoQuote(args[0]) << "\nETCD_INITIAL_CLUSTER=" << GoQuote(Join(conf, ","))
            << "\nETCD_INITIAL_ADVERTISE_PEER_URLS=" << GoQuote(urls)
            << "\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n";
}

void MemberRemoveRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "member ID is not provided");
  etcdserverpb::MemberRemoveRequest request;
  request.set_id(MemberIdFromArg(args[0]));
  auto response = MustClient(c)->MemberRemove(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().MemberRemove(request.id(), *response);
}

void MemberUpdateRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "member ID is not provided");
  etcdserverpb::MemberUpdateRequest request;
  request.set_id(MemberIdFromArg(args[0]));
  const std::string urls = c.GetString("peer-urls");
  if (urls.empty()) ExitWithError(kExitBadArgs, "member peer urls not provided");
  for (const auto& url : Split(urls, ',')) request.add_peerurls(url);
  auto response = MustClient(c)->MemberUpdate(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().MemberUpdate(request.id(), *response);
}

void MemberListRun(Command& c, const std::vector<std::string>&) {
  auto response = MustClient(c)->MemberList(etcdserverpb::MemberListRequest());
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().MemberList(*response);
}

void MemberPromoteRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "member ID is not provided");
  etcdserverpb::MemberPromoteRequest request;
  request.set_id(MemberIdFromArg(args[0]));
  auto response = MustClient(c)->MemberPromote(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().MemberPromote(request.id(), *response);
}

// The endpoints to visit: --endpoints, or with --cluster every member's client URLs.
std::vector<std::string> EndpointsFromCluster(Command& c, const client::Config& config) {
  if (!c.GetBool("cluster")) return config.endpoints;
  client::Config list_config = config;
  list_config.username.clear();  // etcdctl lists members without credentials
  auto lister = client::Client::Connect(list_config);
  if (!lister.ok()) ExitWithError(kExitError, lister.status().message());
  auto members = (*lister)->MemberList(etcdserverpb::MemberListRequest());
  if (!members.ok())
    ExitWithError(kExitError, "failed to fetch endpoints from etcd cluster member list: " + members.status().message());
  std::vector<std::string> endpoints;
  for (const auto& member : members->members())
    endpoints.insert(endpoints.end(), member.clienturls().begin(), member.clienturls().end());
  return endpoints;
}

std::unique_ptr<client::Client> ClientFor(const client::Config& config, const std::string& endpoint) {
  client::Config one = config;
  one.endpoints = {endpoint};
  auto client = client::Client::Connect(one);
  if (!client.ok()) ExitWithError(kExitBadConnection, client.status().message());
  return std::move(client.value());
}

// Go's time.Duration.String for durations under a minute, the range health checks take.
std::string GoDuration(std::chrono::nanoseconds elapsed) {
  const int64_t ns = elapsed.count();
  char buf[64];
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      s.erase(s.find_last_not_of('0') + 1);
      if (s.back() == '.') s.pop_back();
    }
    return s;
  };
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) {
    std::snprintf(buf, sizeof buf, "%.3f", ns / 1e3);
    return trim(buf) + "µs";
  }
  if (ns < 1000000000) {
    std::snprintf(buf, sizeof buf, "%.6f", ns / 1e6);
    return trim(buf) + "ms";
  }
  std::snprintf(buf, sizeof buf, "%.9f", ns / 1e9);
  return trim(buf) + "s";
}

void HealthRun(Command& c, const std::vector<std::string>&) {
  const client::Config config = MustClientConfig(c);
  std::vector<EndpointHealth> list;
  bool failed = false;
  for (const auto& endpoint : EndpointsFromCluster(c, config)) {
    client::Config one = config;
    one.endpoints = {endpoint};
    EndpointHealth health{endpoint, false, "", ""};
    auto client = client::Client::Connect(one);
    if (!client.ok()) {
      health.error = client.status().message();
    } else {
      const auto start = std::chrono::steady_clock::now();
      etcdserverpb::RangeRequest request;
      request.set_key("health");
      auto response = (*client)->Range(request);
      health.took = GoDuration(std::chrono::steady_clock::now() - start);
      // Permission denied still proves the member answered through raft.
      if (response.ok() || response.status().message() == "etcdserver: permission denied") health.health = true;
      else health.error = response.status().message();
    }
    failed = failed || !health.error.empty();
    list.push_back(health);
  }
  Display().EndpointHealthList(list);
  if (failed) ExitWithError(kExitError, "unhealthy cluster");
}

void StatusRun(Command& c, const std::vector<std::string>&) {
  const client::Config config = MustClientConfig(c);
  std::vector<EndpointStatus> list;
  bool failed = false;
  for (const auto& endpoint : EndpointsFromCluster(c, config)) {
    auto response = ClientFor(config, endpoint)->Status(etcdserverpb::StatusRequest());
    if (!response.ok()) {
      failed = true;
      std::cerr << "Failed to get the status of endpoint " << endpoint << " (" << response.status().message() << ")\n";
      continue;
    }
    list.push_back({endpoint, *response});
  }
  Display().EndpointStatusList(list);
  if (failed) Exit(kExitError);
}

void HashKVRun(Command& c, const std::vector<std::string>&) {
  const client::Config config = MustClientConfig(c);
  std::vector<EndpointHashKV> list;
  std::string error;
  for (const auto& endpoint : EndpointsFromCluster(c, config)) {
    etcdserverpb::HashKVRequest request;
    request.set_revision(c.GetInt("rev"));
    auto response = ClientFor(config, endpoint)->HashKV(request);
    if (!response.ok()) {
      error = response.status().message();
      std::cerr << "Failed to get the hash of endpoint " << endpoint << " (" << error << ")\n";
      continue;
    }
    list.push_back({endpoint, *response});
  }
  Display().EndpointHashKVList(list);
  if (!error.empty()) ExitWithError(kExitError, error);
}

void AlarmRun(Command& c, const std::vector<std::string>& args, bool disarm) {
  if (!args.empty())
    ExitWithError(kExitBadArgs, std::string("alarm ") + (disarm ? "disarm" : "list") + " command accepts no arguments");
  etcdserverpb::AlarmRequest request;
  request.set_action(disarm ? etcdserverpb::AlarmRequest::DEACTIVATE : etcdserverpb::AlarmRequest::GET);
  auto response = MustClient(c)->Alarm(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().Alarm(*response);
}

void DefragRun(Command& c, const std::vector<std::string>&) {
  const client::Config config = MustClientConfig(c);
  int failures = 0;
  for (const auto& endpoint : EndpointsFromCluster(c, config)) {
    auto response = ClientFor(config, endpoint)->Defragment(etcdserverpb::DefragmentRequest());
    if (!response.ok()) {
      std::cerr << "Failed to defragment etcd member[" << endpoint << "] (" << response.status().message() << ")\n";
      ++failures;
    } else {
      std::cout << "Finished defragmenting etcd member[" << endpoint << "]\n";
    }
  }
  if (failures != 0) Exit(kExitError);
}

void MoveLeaderRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "move-leader command needs 1 argument");
  uint64_t target = 0;
  const std::string& text = args[0];
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), target, 16);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    ExitWithError(kExitBadArgs, "strconv.ParseUint: parsing " + GoQuote(text) + ": invalid syntax");
  const client::Config config = MustClientConfig(c);
  for (const auto& endpoint : config.endpoints) {
    auto client = ClientFor(config, endpoint);
    auto status = client->Status(etcdserverpb::StatusRequest());
    if (!status.ok()) ExitWithError(kExitError, status.status().message());
    if (status->header().member_id() != status->leader()) continue;
    etcdserverpb::MoveLeaderRequest request;
    request.set_targetid(target);
    auto response = client->MoveLeader(request);
    if (!response.ok()) ExitWithError(kExitError, response.status().message());
    Display().MoveLeader(status->leader(), target, *response);
    return;
  }
  ExitWithError(kExitBadArgs, "no leader endpoint given at [" + Join(config.endpoints, " ") + "]");
}

void VersionRun(Command&, const std::vector<std::string>&) {
  std::cout << "etcdctl version: 3.4.23\nAPI version: 3.4\n";
}

}  // namespace

std::unique_ptr<Command> NewMemberCommand() {
  auto member = MakeCommand("member <subcommand>", "Membership related commands", nullptr);
  auto& add = member->Add(MakeCommand("add <memberName> [options]", "Adds a member into the cluster", MemberAddRun));
  add.AddFlag("peer-urls", "", FlagType::kString, "", "comma separated peer URLs for the new member.");
  add.AddFlag("learner", "", FlagType::kBool, "false", "indicates if the new member is raft learner");
  member->Add(MakeCommand("remove <memberID>", "Removes a member from the cluster", MemberRemoveRun));
  auto& update = member->Add(MakeCommand("update <memberID> [options]", "Updates a member in the cluster", MemberUpdateRun));
  update.AddFlag("peer-urls", "", FlagType::kString, "", "comma separated peer URLs for the updated member.");
  auto& list = member->Add(MakeCommand("list", "Lists all members in the cluster", MemberListRun));
  list.long_help =
      "When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.\n"
      "The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.\n";
  auto& promote = member->Add(MakeCommand("promote <memberID>", "Promotes a non-voting member in the cluster", MemberPromoteRun));
  promote.long_help = "Promotes a non-voting learner member to a voting one in the cluster.\n";
  return member;
}

std::unique_ptr<Command> NewEndpointCommand() {
  auto endpoint = MakeCommand("endpoint <subcommand>", "Endpoint related commands", nullptr);
  endpoint->AddPersistentFlag("cluster", "", FlagType::kBool, "false", "use all endpoints from the cluster member list");
  endpoint->Add(MakeCommand("health", "Checks the healthiness of endpoints specified in `--endpoints` flag", HealthRun));
  auto& status = endpoint->Add(MakeCommand("status", "Prints out the status of endpoints specified in `--endpoints` flag", StatusRun));
  status.long_help =
      "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\n"
      "The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft "
      "applied index, errors.\n";
  auto& hash = endpoint->Add(MakeCommand("hashkv", "Prints the KV history hash for each endpoint in --endpoints", HashKVRun));
  hash.AddPersistentFlag("rev", "", FlagType::kInt, "0", "maximum revision to hash (default: all revisions)");
  return endpoint;
}

std::unique_ptr<Command> NewAlarmCommand() {
  auto alarm = MakeCommand("alarm <subcommand>", "Alarm related commands", nullptr);
  alarm->Add(MakeCommand("disarm", "Disarms all alarms",
                         [](Command& c, const std::vector<std::string>& a) { AlarmRun(c, a, true); }));
  alarm->Add(MakeCommand("list", "Lists all alarms",
                         [](Command& c, const std::vector<std::string>& a) { AlarmRun(c, a, false); }));
  return alarm;
}

std::unique_ptr<Command> NewDefragCommand() {
  auto defrag = MakeCommand("defrag", "Defragments the storage of the etcd members with given endpoints", DefragRun);
  defrag->AddPersistentFlag("cluster", "", FlagType::kBool, "false", "use all endpoints from the cluster member list");
  return defrag;
}

std::unique_ptr<Command> NewMoveLeaderCommand() {
  return MakeCommand("move-leader <transferee-member-id>", "Transfers leadership to another etcd cluster member.",
                     MoveLeaderRun);
}

std::unique_ptr<Command> NewVersionCommand() {
  return MakeCommand("version", "Prints the version of etcdctl", VersionRun);
}

}  // namespace etcpp::ctl
