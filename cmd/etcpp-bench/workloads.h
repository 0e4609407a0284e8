// The benchmark commands, each with the flags of etcd's benchmark command of the same
// name. A command declares its flags, then runs against a connected Engine and prints
// its reports (text, or one JSON object with --json); it returns the exit code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine.h"
#include "flags.h"
#include "report.h"

namespace etcpp::bench {

struct Command {
  std::string name;
  std::string usage;  // "range key [end-range]"
  std::string short_help;
  std::function<void(Flags&)> define;
  std::function<int(Engine&, const GlobalOptions&, const Flags&)> run;
};

std::vector<Command> UnaryCommands();   // put, range, txn-put, txn-mixed
std::vector<Command> StreamCommands();  // watch, watch-latency, lease-keepalive

// Prints the reports: etcd's text with `titles` before each, or one JSON object keyed by
// report name. Returns 0.
int PrintReports(const GlobalOptions& options, const std::vector<Report*>& reports,
                 const std::vector<std::string>& titles);

// A key of `size` bytes holding `index` as a varint, zero-padded, as etcd's benchmark
// builds its keys (shorter keys hold the varint's first bytes).
std::string VarintKey(int64_t index, size_t size);
std::string RandomBytes(size_t size);

}  // namespace etcpp::bench
