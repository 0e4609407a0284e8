// A small command-line framework that parses and reports errors the way etcdctl's cobra
// and pflag do: the same flag syntax (--f=v, --f v, -f v, bool flags without values,
// "--" ends flags, flags anywhere among arguments), unique-prefix command matching, the
// same error texts, and etcdctl's usage template.
//
// Single-threaded: built and run once by main().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace etcpp::ctl {

enum class FlagType { kBool, kString, kInt, kUint, kDuration, kStringSlice };

struct Flag {
  std::string name;
  std::string shorthand;  // "" or one letter
  FlagType type = FlagType::kString;
  std::string default_value;  // as pflag prints it: "false", "2s", "[a,b]"
  std::string usage;
  std::string value;  // current value in the same spelling as default_value
  bool changed = false;
};

struct Command;
using RunFn = std::function<void(Command& command, const std::vector<std::string>& args)>;

struct Command {
  std::string use;  // "get [options] <key> [range_end]"; the first word is the name
  std::string short_help;
  std::string long_help;
  std::vector<std::string> aliases;
  RunFn run;  // empty: a group that only has subcommands
  std::vector<Flag> local_flags;
  std::vector<Flag> persistent_flags;  // inherited by all subcommands
  std::vector<std::unique_ptr<Command>> children;
  Command* parent = nullptr;
  // How many positional arguments came before a "--" (cobra's ArgsLenAtDash); -1 if none.
  int args_at_dash = -1;

  std::string Name() const;
  std::string CommandPath() const;
  Command& Add(std::unique_ptr<Command> child);

  Flag& AddFlag(const std::string& name, const std::string& shorthand, FlagType type,
                const std::string& default_value, const std::string& usage);
  Flag& AddPersistentFlag(const std::string& name, const std::string& shorthand, FlagType type,
                          const std::string& default_value, const std::string& usage);

  // Flag lookup through this command and its ancestors' persistent flags.
  Flag* FindFlag(const std::string& name);
  Flag* FindShorthand(char shorthand);

  // Typed accessors; the flag must exist (a misspelt name is a bug).
  bool GetBool(const std::string& name);
  std::string GetString(const std::string& name);
  int64_t GetInt(const std::string& name);
  uint64_t GetUint(const std::string& name);
  int64_t GetDurationMs(const std::string& name);
  std::vector<std::string> GetStringSlice(const std::string& name);
  bool Changed(const std::string& name);

  // The flags this command shows under GLOBAL OPTIONS (its ancestors' persistent ones).
  std::vector<Flag*> InheritedFlags();
};

// A command with its usage line ("get [options] <key> [range_end]"), one-line help and
// action (none: a group that only has subcommands).
std::unique_ptr<Command> MakeCommand(const std::string& use, const std::string& short_help,
                                     RunFn run = {});

// Parses "1m30s"-style Go durations; false when malformed.
bool ParseGoDuration(const std::string& text, int64_t* ms);

// Parses `args` against `command`'s flags alone (no help handling, no output): false
// with pflag's error text in `error`.
bool ParseFlagsQuietly(Command& command, const std::vector<std::string>& args,
                       std::vector<std::string>* positional, std::string* error);

// Runs the command line against `root` and returns the process exit code.
int Execute(Command& root, const std::vector<std::string>& args);

// Prints `command`'s usage as etcdctl does (to stdout).
void PrintUsage(Command& command);

}  // namespace etcpp::ctl
