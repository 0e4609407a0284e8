#include "flags.h"

#include <cstdlib>

namespace etcpp::bench {

using base::Code;
using base::Status;

void Flags::Define(const std::string& name, const std::string& default_value,
                   const std::string& help, bool boolean) {
  if (!flags_.count(name)) order_.push_back(name);
  flags_[name] = Flag{default_value, default_value, help, boolean};
}

Status Flags::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) return Status(Code::kInvalidArgument, "unknown flag: " + arg);
    if (!has_value && it->second.boolean) {
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size())
        return Status(Code::kInvalidArgument, "flag needs an argument: " + arg);
      value = args[++i];
    }
    it->second.value = value;
  }
  return Status::Ok();
}

const std::string& Flags::String(const std::string& name) const { return flags_.at(name).value; }

base::Result<int64_t> Flags::Int(const std::string& name) const {
  const std::string& text = flags_.at(name).value;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0')
    return Status(Code::kInvalidArgument, "invalid argument \"" + text + "\" for \"--" + name +
                                              "\" flag: strconv.ParseInt: parsing \"" + text +
                                              "\": invalid syntax");
  return static_cast<int64_t>(value);
}

base::Result<double> Flags::Double(const std::string& name) const {
  const std::string& text = flags_.at(name).value;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    return Status(Code::kInvalidArgument, "invalid argument \"" + text + "\" for \"--" + name +
                                              "\" flag: strconv.ParseFloat: parsing \"" + text +
                                              "\": invalid syntax");
  return value;
}

bool Flags::Bool(const std::string& name) const {
  const std::string& text = flags_.at(name).value;
  return text == "true" || text == "1";
}

std::string Flags::Usage() const {
  std::string out;
  for (const auto& name : order_) {
    const Flag& flag = flags_.at(name);
    std::string left = "      --" + name;
    if (!flag.boolean) left += " value";
    left.resize(std::max<size_t>(left.size() + 1, 34), ' ');
    out += left + flag.help;
    if (!flag.default_value.empty() && !flag.boolean) out += " (default " + flag.default_value + ")";
    out += "\n";
  }
  return out;
}

}  // namespace etcpp::bench
