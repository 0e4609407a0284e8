// etcppctl: etcdctl v3's command line over the etcpp client library. main() only builds
// the command tree and runs it; see commands.h for the commands.
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "global.h"

namespace etcpp::ctl {
namespace {

// Go's %#q of a string slice, as cobra prints an unknown help topic.
std::string HelpTopic(const std::vector<std::string>& args) {
  std::string out = "[";
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " `" : "`") + args[i] + "`";
  return out + "]";
}

std::unique_ptr<Command> NewHelpCommand() {
  auto help = std::make_unique<Command>();
  help->use = "help [command]";
  help->short_help = "Help about any command";
  help->long_help =
      "Help provides help for any command in the application.\n"
      "Simply type etcdctl help [path to command] for full details.";
  help->run = [](Command& c, const std::vector<std::string>& args) {
    Command* target = c.parent;
    for (const auto& name : args) {
      Command* next = nullptr;
      for (auto& child : target->children)
        if (child->Name() == name) next = child.get();
      if (next == nullptr) {
        std::cout << "Unknown help topic " << HelpTopic(args) << "\n";
        PrintUsage(*target);
        return;
      }
      target = next;
    }
    PrintUsage(*target);
  };
  return help;
}

}  // namespace

std::unique_ptr<Command> NewRootCommand() {
  auto root = std::make_unique<Command>();
  root->use = "etcdctl";
  root->short_help = "A simple command line client for etcd3.";
  AddGlobalFlags(*root);
  for (auto* make : {NewGetCommand, NewPutCommand, NewDelCommand, NewTxnCommand, NewCompactionCommand,
                     NewAlarmCommand, NewDefragCommand, NewEndpointCommand, NewMoveLeaderCommand, NewWatchCommand,
                     NewVersionCommand, NewLeaseCommand, NewMemberCommand, NewSnapshotCommand, NewCheckCommand, NewMakeMirrorCommand, NewLockCommand,
                     NewElectCommand, NewAuthCommand, NewUserCommand, NewRoleCommand, NewLsCommand,
                     NewCompletionCommand, NewHelpCommand})
    root->Add(make());
  return root;
}

}  // namespace etcpp::ctl

int main(int argc, char** argv) {
  // etcdctl drops ETCDCTL_API before parsing so it is not taken for a flag; v2 is gone.
  const char* api = std::getenv("ETCDCTL_API");
  if (api != nullptr && *api != '\0' && std::string(api) != "3") {
    std::cerr << "unsupported API version " << api << "\n";
    return 1;
  }
  unsetenv("ETCDCTL_API");
  auto root = etcpp::ctl::NewRootCommand();
  const int code = etcpp::ctl::Execute(*root, std::vector<std::string>(argv + 1, argv + argc));
  etcpp::ctl::Exit(code);
}
