// Flags: the small command line parser of etcpp-bench. Flags are `--name value` or
// `--name=value` (booleans also bare `--name`), in any order among positional
// arguments, as cobra accepts them in etcd's benchmark tool.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace etcpp::bench {

class Flags {
 public:
  // Declares a flag with its default (as text) and help line.
  void Define(const std::string& name, const std::string& default_value, const std::string& help,
              bool boolean = false);

  // Takes the flags it knows out of `args` and keeps the rest as positional arguments.
  base::Status Parse(const std::vector<std::string>& args);

  const std::string& String(const std::string& name) const;
  base::Result<int64_t> Int(const std::string& name) const;
  base::Result<double> Double(const std::string& name) const;
  bool Bool(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string Usage() const;  // one line per flag, sorted as declared

 private:
  struct Flag {
    std::string value;
    std::string default_value;
    std::string help;
    bool boolean = false;
  };
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace etcpp::bench
