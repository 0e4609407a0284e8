#include "cli.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "base/assert.h"
#include "tabwriter.h"

namespace etcpp::ctl {
namespace {

constexpr char kVersion[] = "3.4.23";
constexpr char kApiVersion[] = "3.4";

// A flag that may stand alone ("--prefix" means "--prefix=true"), pflag's NoOptDefVal.
bool TakesNoValue(const Flag* flag) { return flag != nullptr && flag->type == FlagType::kBool; }

std::string GoQuote(const std::string& s) { return "\"" + s + "\""; }

// Validates `text` for `flag` and stores it, with pflag's and Go's error texts.
bool SetFlag(Flag& flag, const std::string& text, std::string* error) {
  std::string problem;
  switch (flag.type) {
    case FlagType::kBool: {
      static const char* kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
      static const char* kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
      if (std::find(std::begin(kTrue), std::end(kTrue), text) != std::end(kTrue)) {
        flag.value = "true";
      } else if (std::find(std::begin(kFalse), std::end(kFalse), text) != std::end(kFalse)) {
        flag.value = "false";
      } else {
        problem = "strconv.ParseBool: parsing " + GoQuote(text) + ": invalid syntax";
      }
      break;
    }
    case FlagType::kInt:
    case FlagType::kUint: {
      const bool is_uint = flag.type == FlagType::kUint;
      size_t pos = 0;
      bool ok = !text.empty();
      for (; ok && pos < text.size(); ++pos) {
        const bool sign = pos == 0 && (text[0] == '-' || text[0] == '+') && !is_uint;
        if (!sign && !std::isdigit(static_cast<unsigned char>(text[pos]))) ok = false;
      }
      if (ok) flag.value = text;
      else problem = std::string(is_uint ? "strconv.ParseUint" : "strconv.ParseInt") +
                     ": parsing " + GoQuote(text) + ": invalid syntax";
      break;
    }
    case FlagType::kDuration: {
      int64_t ms = 0;
      if (ParseGoDuration(text, &ms)) flag.value = text;
      else problem = "time: invalid duration " + GoQuote(text);
      break;
    }
    case FlagType::kStringSlice:
      // Kept in pflag's "[a,b]" spelling; a slice flag given again appends.
      flag.value = flag.changed ? flag.value.substr(0, flag.value.size() - 1) + "," + text + "]" : "[" + text + "]";
      break;
    case FlagType::kString:
      flag.value = text;
      break;
  }
  if (!problem.empty()) {
    const std::string name =
        flag.shorthand.empty() ? "--" + flag.name : "-" + flag.shorthand + ", --" + flag.name;
    *error = "invalid argument " + GoQuote(text) + " for " + GoQuote(name) + " flag: " + problem;
    return false;
  }
  flag.changed = true;
  return true;
}

enum class ParseOutcome { kOk, kHelp, kError };

// One "--name[=value]" argument at args[*i]; may consume the next argument as its value.
ParseOutcome ParseLongFlag(Command& command, const std::vector<std::string>& args, size_t* i,
                           std::string* error) {
  const std::string& s = args[*i];
  std::string name = s.substr(2);
  if (name.empty() || name[0] == '-' || name[0] == '=') {
    *error = "bad flag syntax: " + s;
    return ParseOutcome::kError;
  }
  const size_t eq = name.find('=');
  const bool has_value = eq != std::string::npos;
  std::string value = has_value ? name.substr(eq + 1) : "";
  if (has_value) name = name.substr(0, eq);
  Flag* flag = command.FindFlag(name);
  if (flag == nullptr) {
    if (name == "help") return ParseOutcome::kHelp;
    *error = "unknown flag: --" + name;
    return ParseOutcome::kError;
  }
  if (!has_value) {
    if (TakesNoValue(flag)) {
      value = "true";
    } else if (*i + 1 < args.size()) {
      value = args[++*i];
    } else {
      *error = "flag needs an argument: " + s;
      return ParseOutcome::kError;
    }
  }
  return SetFlag(*flag, value, error) ? ParseOutcome::kOk : ParseOutcome::kError;
}

// One "-abc" argument (a run of shorthands, the last may take a value) at args[*i].
ParseOutcome ParseShortFlags(Command& command, const std::vector<std::string>& args, size_t* i,
                             std::string* error) {
  std::string shorthands = args[*i].substr(1);
  while (!shorthands.empty()) {
    const char c = shorthands[0];
    Flag* flag = command.FindShorthand(c);
    if (flag == nullptr) {
      if (c == 'h') return ParseOutcome::kHelp;
      *error = std::string("unknown shorthand flag: '") + c + "' in -" + shorthands;
      return ParseOutcome::kError;
    }
    std::string value;
    if (shorthands.size() > 2 && shorthands[1] == '=') {
      value = shorthands.substr(2);
      shorthands.clear();
    } else if (TakesNoValue(flag)) {
      value = "true";
      shorthands = shorthands.substr(1);
    } else if (shorthands.size() > 1) {
      value = shorthands.substr(1);
      shorthands.clear();
    } else if (*i + 1 < args.size()) {
      value = args[++*i];
      shorthands.clear();
    } else {
      *error = std::string("flag needs an argument: '") + c + "' in -" + shorthands;
      return ParseOutcome::kError;
    }
    if (!SetFlag(*flag, value, error)) return ParseOutcome::kError;
  }
  return ParseOutcome::kOk;
}

// pflag's parseArgs with interspersed flags: positional arguments go to `positional`.
ParseOutcome ParseFlags(Command& command, const std::vector<std::string>& args,
                        std::vector<std::string>* positional, std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s.size() < 2 || s[0] != '-') {
      positional->push_back(s);
      continue;
    }
    if (s == "--") {
      command.args_at_dash = static_cast<int>(positional->size());
      positional->insert(positional->end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    const ParseOutcome outcome =
        s[1] == '-' ? ParseLongFlag(command, args, &i, error) : ParseShortFlags(command, args, &i, error);
    if (outcome != ParseOutcome::kOk) return outcome;
  }
  return ParseOutcome::kOk;
}

std::vector<Command*> SortedChildren(Command& command) {
  std::vector<Command*> out;
  for (auto& child : command.children) out.push_back(child.get());
  std::sort(out.begin(), out.end(), [](Command* a, Command* b) { return a->Name() < b->Name(); });
  return out;
}

// cobra's findNext: an exact name or alias, else a unique prefix.
Command* FindChild(Command& command, const std::string& name) {
  Command* prefix_match = nullptr;
  int prefix_matches = 0;
  for (auto& child : command.children) {
    if (child->Name() == name) return child.get();
    for (const auto& alias : child->aliases)
      if (alias == name) return child.get();
    if (child->Name().rfind(name, 0) == 0) {
      prefix_match = child.get();
      ++prefix_matches;
    }
  }
  return prefix_matches == 1 ? prefix_match : nullptr;
}

// Whether stripFlags knows `flag` as one without a value. cobra adds the help flag only
// after it has found the command, so "--help" and "-h" count as taking a value here
// ("etcdctl --help get" shows the root's help).
bool StripsAlone(const Flag* flag) { return TakesNoValue(flag) && flag->name != "help"; }

// cobra's stripFlags: the words of `args` that are not flags or flag values, with their
// positions. An unknown "--flag" without "=" is assumed to take the next word.
std::vector<std::pair<std::string, size_t>> StripFlags(Command& command,
                                                       const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, size_t>> words;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s == "--") break;
    const bool no_eq = s.find('=') == std::string::npos;
    const bool long_with_value = s.rfind("--", 0) == 0 && no_eq && !StripsAlone(command.FindFlag(s.substr(2)));
    const bool short_with_value = !long_with_value && s.size() == 2 && s[0] == '-' && no_eq &&
                                  !StripsAlone(command.FindShorthand(s[1]));
    if (long_with_value || short_with_value) {
      if (args.size() - i - 1 <= 1) break;
      ++i;
      continue;
    }
    if (!s.empty() && s[0] != '-') words.emplace_back(s, i);
  }
  return words;
}

size_t Levenshtein(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Suggestions(Command& command, const std::string& typed) {
  std::string out;
  for (Command* child : SortedChildren(command)) {
    std::string lower_name = child->Name(), lower_typed = typed;
    for (auto& c : lower_name) c = static_cast<char>(std::tolower(c));
    for (auto& c : lower_typed) c = static_cast<char>(std::tolower(c));
    if (Levenshtein(typed, child->Name()) <= 2 || lower_name.rfind(lower_typed, 0) == 0)
      out += "\t" + child->Name() + "\n";
  }
  return out.empty() ? "" : "\n\nDid you mean this?\n" + out;
}

std::string FlagUsages(const std::vector<Flag*>& flags) {
  std::string out;
  for (const Flag* flag : flags) {
    out += flag->shorthand.empty() ? "      --" + flag->name : "  -" + flag->shorthand + ", --" + flag->name;
    const bool bracket = TakesNoValue(flag);
    const std::string value =
        flag->type == FlagType::kString ? GoQuote(flag->default_value) : flag->default_value;
    out += (bracket ? "[=" : "=") + value + (bracket ? "]" : "") + "\t" + flag->usage + "\n";
  }
  return out;
}

std::vector<Flag*> SortedFlags(std::vector<Flag*> flags) {
  std::sort(flags.begin(), flags.end(), [](Flag* a, Flag* b) { return a->name < b->name; });
  return flags;
}

// cobra's cmdName in etcdctl's template: the path from just below `start` to `command`.
std::string RelativeName(Command* command, Command* start) {
  std::string name = command->Name();
  while (command->parent != nullptr && command->parent->Name() != start->Name()) {
    command = command->parent;
    name = command->Name() + " " + name;
  }
  return name;
}

void CollectRunnable(Command& command, Command* start, std::string* out) {
  for (Command* child : SortedChildren(command)) {
    if (child->run) out->append("\t" + RelativeName(child, start) + "\t" + child->short_help + "\n");
    CollectRunnable(*child, start, out);
  }
}

}  // namespace

std::string Command::Name() const { return use.substr(0, use.find(' ')); }

std::string Command::CommandPath() const {
  return parent == nullptr ? Name() : parent->CommandPath() + " " + Name();
}

Command& Command::Add(std::unique_ptr<Command> child) {
  child->parent = this;
  children.push_back(std::move(child));
  return *children.back();
}

Flag& Command::AddFlag(const std::string& name, const std::string& shorthand, FlagType type,
                       const std::string& default_value, const std::string& usage) {
  local_flags.push_back(Flag{name, shorthand, type, default_value, usage, default_value, false});
  return local_flags.back();
}

Flag& Command::AddPersistentFlag(const std::string& name, const std::string& shorthand,
                                 FlagType type, const std::string& default_value,
                                 const std::string& usage) {
  persistent_flags.push_back(Flag{name, shorthand, type, default_value, usage, default_value, false});
  return persistent_flags.back();
}

Flag* Command::FindFlag(const std::string& name) {
  for (Command* c = this; c != nullptr; c = c->parent) {
    if (c == this)
      for (auto& flag : c->local_flags)
        if (flag.name == name) return &flag;
    for (auto& flag : c->persistent_flags)
      if (flag.name == name) return &flag;
  }
  return nullptr;
}

Flag* Command::FindShorthand(char shorthand) {
  for (Command* c = this; c != nullptr; c = c->parent) {
    if (c == this)
      for (auto& flag : c->local_flags)
        if (flag.shorthand.size() == 1 && flag.shorthand[0] == shorthand) return &flag;
    for (auto& flag : c->persistent_flags)
      if (flag.shorthand.size() == 1 && flag.shorthand[0] == shorthand) return &flag;
  }
  return nullptr;
}

static Flag& MustFind(Command& command, const std::string& name) {
  Flag* flag = command.FindFlag(name);
  ETCPP_ASSERT_MSG(flag != nullptr, name.c_str());
  return *flag;
}

bool Command::GetBool(const std::string& name) { return MustFind(*this, name).value == "true"; }
std::string Command::GetString(const std::string& name) { return MustFind(*this, name).value; }
int64_t Command::GetInt(const std::string& name) { return std::stoll(MustFind(*this, name).value); }
uint64_t Command::GetUint(const std::string& name) {
  return std::stoull(MustFind(*this, name).value);
}
bool Command::Changed(const std::string& name) { return MustFind(*this, name).changed; }

int64_t Command::GetDurationMs(const std::string& name) {
  int64_t ms = 0;
  ParseGoDuration(MustFind(*this, name).value, &ms);
  return ms;
}

std::vector<std::string> Command::GetStringSlice(const std::string& name) {
  std::string value = MustFind(*this, name).value;
  if (value.size() >= 2 && value.front() == '[' && value.back() == ']')
    value = value.substr(1, value.size() - 2);
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = value.find(',', start);
    out.push_back(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<Flag*> Command::InheritedFlags() {
  std::vector<Flag*> out;
  for (Command* c = parent; c != nullptr; c = c->parent)
    for (auto& flag : c->persistent_flags) out.push_back(&flag);
  return SortedFlags(out);
}

bool ParseGoDuration(const std::string& text, int64_t* ms) {
  if (text == "0") {
    *ms = 0;
    return true;
  }
  size_t i = 0;
  double total_ms = 0;
  bool any = false;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return false;
    const double number = std::stod(text.substr(start, i - start));
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    static const std::pair<const char*, double> kUnits[] = {
        {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
    bool known = false;
    for (const auto& [name, factor] : kUnits) {
      if (unit == name) {
        total_ms += number * factor;
        known = true;
      }
    }
    if (!known) return false;
    any = true;
  }
  *ms = static_cast<int64_t>(total_ms);
  return any;
}

bool ParseFlagsQuietly(Command& command, const std::vector<std::string>& args,
                       std::vector<std::string>* positional, std::string* error) {
  return ParseFlags(command, args, positional, error) == ParseOutcome::kOk;
}

void PrintUsage(Command& command) {
  Command* root = &command;
  while (root->parent != nullptr) root = root->parent;
  std::string text = "NAME:\n";
  text += "\t" + (command.parent == nullptr ? command.Name() : RelativeName(&command, root)) +
          " - " + command.short_help + "\n";
  text += "\nUSAGE:\n\t" +
          (command.parent == nullptr ? command.use : command.parent->CommandPath() + " " + command.use) +
          " [flags]\n";
  if (command.parent == nullptr) text += std::string("\nVERSION:\n\t") + kVersion + "\n";
  if (!command.children.empty()) {
    text += std::string("\nAPI VERSION:\n\t") + kApiVersion + "\n";
    text += "\n\nCOMMANDS:\n";
    CollectRunnable(command, &command, &text);
  }
  if (!command.long_help.empty()) {
    text += "\nDESCRIPTION:\n";
    std::string body = command.long_help;
    const size_t first = body.find_first_not_of("\n\t ");
    const size_t last = body.find_last_not_of("\n\t ");
    body = first == std::string::npos ? "" : body.substr(first, last - first + 1);
    size_t start = 0;
    while (start <= body.size()) {
      const size_t nl = body.find('\n', start);
      text += "\t" + body.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  std::vector<Flag*> local;
  for (auto& flag : command.local_flags) local.push_back(&flag);
  for (auto& flag : command.persistent_flags) local.push_back(&flag);
  text += "\nOPTIONS:\n" + FlagUsages(SortedFlags(local));
  const std::vector<Flag*> inherited = command.InheritedFlags();
  if (!inherited.empty()) text += "\nGLOBAL OPTIONS:\n" + FlagUsages(inherited);
  text += "\n";
  std::fputs(TabAlign(text).c_str(), stdout);
  std::fflush(stdout);
}

namespace {

// cobra gives every command a -h/--help flag of its own.
void AddHelpFlags(Command& command) {
  command.AddFlag("help", "h", FlagType::kBool, "false", "help for " + command.Name());
  for (auto& child : command.children) AddHelpFlags(*child);
}

}  // namespace

int Execute(Command& root, const std::vector<std::string>& args) {
  AddHelpFlags(root);
  // Find the command as cobra does, walking the words that are not flags.
  Command* command = &root;
  std::vector<std::string> rest = args;
  for (;;) {
    const auto words = StripFlags(*command, rest);
    if (words.empty()) break;
    Command* next = FindChild(*command, words[0].first);
    if (next == nullptr) {
      if (command == &root && !root.children.empty()) {
        const std::string error = "unknown command " + GoQuote(words[0].first) + " for " +
                                  GoQuote(root.CommandPath()) + Suggestions(root, words[0].first);
        std::cerr << "Error: " << error << "\nRun '" << root.CommandPath() << " --help' for usage.\n";
        std::cerr << "Error: " << error << "\n";
        return 1;
      }
      break;
    }
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(words[0].second));
    command = next;
  }
  std::vector<std::string> positional;
  std::string error;
  const ParseOutcome outcome = ParseFlags(*command, rest, &positional, &error);
  if (outcome == ParseOutcome::kError) {
    std::cerr << "Error: " << error << "\n" << std::flush;
    PrintUsage(*command);
    std::cerr << "\nError: " << error << "\n";
    return 1;
  }
  if (outcome == ParseOutcome::kHelp || command->GetBool("help") || !command->run) {
    PrintUsage(*command);
    return 0;
  }
  command->run(*command, positional);
  return 0;
}

std::unique_ptr<Command> MakeCommand(const std::string& use, const std::string& short_help,
                                     RunFn run) {
  auto command = std::make_unique<Command>();
  command->use = use;
  command->short_help = short_help;
  command->run = std::move(run);
  return command;
}

}  // namespace etcpp::ctl
