// Reads a Config the way etcd's command line does: Go-style flags (`-flag value`,
// `--flag=value`, bool flags bare or `=true|false`), ETCD_<FLAG> environment variables,
// or a YAML --config-file. Errors carry etcd's wording so scripts that grep for it, and
// people who know it, are not surprised.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/config.h"

namespace etcpp::server {

enum class Action { kRun, kHelp, kVersion };

struct ParsedFlags {
  Action action = Action::kRun;
  Config config;
  std::vector<std::string> warnings;  // e.g. unrecognized ETCD_* variables
};

// A failure to parse exits with code 2 and the usage line, as Go's flag package does; a
// failure to validate exits with code 1 ("error verifying flags, …").
struct FlagError {
  int exit_code;
  std::string message;
};

// `environment` holds NAME=VALUE pairs (environ) so tests need not touch the process's.
std::variant<ParsedFlags, FlagError> ParseFlags(const std::vector<std::string>& args,
                                                const std::map<std::string, std::string>& environment);

// Go's time.ParseDuration ("1h30m", "500ms") for non-negative values, in milliseconds.
std::optional<uint64_t> ParseDurationMs(std::string_view s);

// The text of `etcpp --help`.
std::string Usage();

}  // namespace etcpp::server
