// completion bash|zsh: shell completion generated from the command tree, so it never
// falls behind the commands. Completes command words and the flags of the command
// typed so far.
#include <iostream>

#include "commands.h"

namespace etcpp::ctl {
namespace {

// One "path) words ;;" case per command: its subcommands and all its flags.
void BashCases(Command& command, const std::string& path, std::string* out) {
  std::string words;
  for (auto& child : command.children) words += child->Name() + " ";
  for (auto& flag : command.local_flags) words += "--" + flag.name + " ";
  for (auto& flag : command.persistent_flags) words += "--" + flag.name + " ";
  for (Flag* flag : command.InheritedFlags()) words += "--" + flag->name + " ";
  *out += "    \"" + path + "\") words=\"" + words + "--help\" ;;\n";
  for (auto& child : command.children) BashCases(*child, path.empty() ? child->Name() : path + " " + child->Name(), out);
}

std::string BashScript(Command& root) {
  std::string cases;
  BashCases(root, "", &cases);
  return "# bash completion for etcppctl; load with: source <(etcppctl completion bash)\n"
         "_etcppctl() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" word words next\n"
         "  for word in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
         "    [[ \"$word\" == -* ]] && continue\n"
         "    next=\"${path:+$path }$word\"\n"
         "    case \"$next\" in\n" +
         [&] {
           std::string known;
           std::function<void(Command&, const std::string&)> walk = [&](Command& c, const std::string& p) {
             for (auto& child : c.children) {
               const std::string q = p.empty() ? child->Name() : p + " " + child->Name();
               known += "      \"" + q + "\") path=\"$next\" ;;\n";
               walk(*child, q);
             }
           };
           walk(root, "");
           return known;
         }() +
         "    esac\n"
         "  done\n"
         "  case \"$path\" in\n" +
         cases +
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "}\n"
         "complete -F _etcppctl etcppctl\n";
}

}  // namespace

std::unique_ptr<Command> NewCompletionCommand() {
  auto completion = std::make_unique<Command>();
  completion->use = "completion";
  completion->short_help = "Generate the autocompletion script for the specified shell";
  auto bash = std::make_unique<Command>();
  bash->use = "bash";
  bash->short_help = "Generate the autocompletion script for bash";
  bash->run = [](Command& c, const std::vector<std::string>&) {
    Command* root = &c;
    while (root->parent != nullptr) root = root->parent;
    std::cout << BashScript(*root);
  };
  auto zsh = std::make_unique<Command>();
  zsh->use = "zsh";
  zsh->short_help = "Generate the autocompletion script for zsh";
  zsh->run = [](Command& c, const std::vector<std::string>&) {
    Command* root = &c;
    while (root->parent != nullptr) root = root->parent;
    // zsh runs bash completion functions through bashcompinit.
    std::cout << "#compdef etcppctl\nautoload -U +X bashcompinit && bashcompinit\n" << BashScript(*root);
  };
  completion->Add(std::move(bash));
  completion->Add(std::move(zsh));
  return completion;
}

}  // namespace etcpp::ctl
