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
  enum class Kind { kString, kInt, kFloat, kBool };

  // Declares a flag with its default (as text) and help line. Without a kind, a default
  // made of digits makes an integer flag, any other a string flag.
  void Define(const std::string& name, const std::string& default_value, const std::string& help);
  void Define(const std::string& name, const std::string& default_value, const std::string& help, Kind kind);

  // Takes the flags it knows out of `args` and keeps the rest as positional arguments.
  // Numbers are checked here, so a bad one is refused before anything runs, with the
  // message of etcd's benchmark (cobra's).
  base::Status Parse(const std::vector<std::string>& args);

  const std::string& String(const std::string& name) const;
  int64_t Int(const std::string& name) const;
  double Double(const std::string& name) const;
  bool Bool(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string Usage() const;  // one line per flag, sorted as declared

 private:
  struct Flag {
    std::string value;
    std::string default_value;
    std::string help;
    Kind kind = Kind::kString;
  };
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace etcpp::bench
