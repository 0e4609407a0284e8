// lease grant/revoke/timetolive/list/keep-alive: etcdctl's lease_command.go.
#include <charconv>
#include <iostream>

#include "client/keepalive.h"
#include "commands.h"
#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {
namespace {

int64_t LeaseFromArg(const std::string& arg) {
  int64_t id = 0;
  const auto [end, error] = std::from_chars(arg.data(), arg.data() + arg.size(), id, 16);
  if (arg.empty() || error != std::errc() || end != arg.data() + arg.size())
    ExitWithError(kExitBadArgs, "bad lease ID arg (strconv.ParseInt: parsing " + GoQuote(arg) +
                                    ": invalid syntax), expecting ID in Hex");
  return id;
}

void GrantRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease grant command needs TTL argument");
  int64_t ttl = 0;
  const std::string& text = args[0];
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ttl);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    ExitWithError(kExitBadArgs, "bad TTL (strconv.ParseInt: parsing " + GoQuote(text) + ": invalid syntax)");
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl);
  auto response = MustClient(c)->LeaseGrant(request);
  if (!response.ok()) ExitWithError(kExitError, "failed to grant lease (" + response.status().message() + ")");
  Display().Grant(*response);
}

void RevokeRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease revoke command needs 1 argument");
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(LeaseFromArg(args[0]));
  auto response = MustClient(c)->LeaseRevoke(request);
  if (!response.ok()) ExitWithError(kExitError, "failed to revoke lease (" + response.status().message() + ")");
  Display().Revoke(request.id(), *response);
}

void TimeToLiveRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease timetolive command needs lease ID as argument");
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(LeaseFromArg(args[0]));
  request.set_keys(c.GetBool("keys"));
  auto response = MustClient(c)->LeaseTimeToLive(request);
  if (!response.ok()) ExitWithError(kExitBadConnection, response.status().message());
  Display().TimeToLive(*response, request.keys());
}

void ListRun(Command& c, const std::vector<std::string>&) {
  auto response = MustClient(c)->LeaseLeases(etcdserverpb::LeaseLeasesRequest());
  if (!response.ok()) ExitWithError(kExitBadConnection, response.status().message());
  Display().Leases(*response);
}

void KeepAliveRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease keep-alive command needs lease ID as argument");
  const int64_t id = LeaseFromArg(args[0]);
  auto client = MustClient(c);
  if (c.GetBool("once")) {
    auto response = client->LeaseKeepAliveOnce(id);
    if (!response.ok()) ExitWithError(kExitBadConnection, response.status().message());
    Display().KeepAlive(*response);
    return;
  }
  // Runs until the lease is gone; Ctrl-C ends the process (as it does etcdctl).
  auto keeper = client::LeaseKeeper::Start(*client, id, [](const etcdserverpb::LeaseKeepAliveResponse& r) {
    Display().KeepAlive(r);
    std::cout.flush();
  });
  (void)keeper->Wait();  // only ends when the lease expired or was revoked
  if (c.GetString("write-out") == "simple") std::cout << "lease " << Hex16(id) << " expired or revoked.\n";
}

}  // namespace

std::unique_ptr<Command> NewLeaseCommand() {
  auto lease = MakeCommand("lease <subcommand>", "Lease related commands", nullptr);
  lease->Add(MakeCommand("grant <ttl>", "Creates leases", GrantRun));
  lease->Add(MakeCommand("revoke <leaseID>", "Revokes leases", RevokeRun));
  auto& ttl = lease->Add(MakeCommand("timetolive <leaseID> [options]", "Get lease information", TimeToLiveRun));
  ttl.AddFlag("keys", "", FlagType::kBool, "false", "Get keys attached to this lease");
  lease->Add(MakeCommand("list", "List all active leases", ListRun));
  auto& keep = lease->Add(MakeCommand("keep-alive [options] <leaseID>", "Keeps leases alive (renew)", KeepAliveRun));
  keep.AddFlag("once", "", FlagType::kBool, "false",
               "Resets the keep-alive time to its original value and exits immediately");
  return lease;
}

}  // namespace etcpp::ctl
