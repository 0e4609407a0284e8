// What every etcppctl command shares, after etcdctl's command/global.go: exit codes, the
// global flags and their ETCDCTL_* environment variables, the client built from them,
// and the printer chosen by -w/--hex.
#pragma once

#include <memory>
#include <string>

#include "cli.h"
#include "client/client.h"
#include "printer.h"

namespace etcpp::ctl {

// etcdctl's exit codes (command/error.go).
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitBadConnection = 2;
inline constexpr int kExitInvalidInput = 3;
inline constexpr int kExitBadFeature = 4;
inline constexpr int kExitInterrupted = 5;
inline constexpr int kExitIO = 6;
inline constexpr int kExitBadArgs = 128;

// Prints "Error: <message>" to stderr and ends the process with `code`, as etcdctl's
// ExitWithError does. The process ends without running destructors: gRPC threads may
// still be busy, and nothing here holds state that needs flushing beyond stdio.
[[noreturn]] void ExitWithError(int code, const std::string& message);
[[noreturn]] void Exit(int code);

// Adds etcdctl's global flags to the root command.
void AddGlobalFlags(Command& root);

// The printer for this invocation; valid after ClientFromCommand or InitDisplay.
Printer& Display();
void InitDisplay(Command& command);

// Applies ETCDCTL_* variables, selects the printer and builds the client; exits like
// etcdctl when that fails.
std::unique_ptr<client::Client> MustClient(Command& command);
// The client configuration alone (for commands that build one client per endpoint).
client::Config MustClientConfig(Command& command);

// --command-timeout in milliseconds.
int64_t CommandTimeoutMs(Command& command);

}  // namespace etcpp::ctl
