#include "flags.h"

#include <cstdlib>

namespace etcpp::bench {

using base::Code;
using base::Status;

void Flags::Define(const std::string& name, const std::string& default_value, const std::string& help) {
  const bool digits = !default_value.empty() &&
                      default_value.find_first_not_of("0123456789") == std::string::npos;
  Define(name, default_value, help, digits ? Kind::kInt : Kind::kString);
}

void Flags::Define(const std::string& name, const std::string& default_value, const std::string& help,
                   Kind kind) {
  if (!flags_.count(name)) order_.push_back(name);
  flags_[name] = Flag{default_value, default_value, help, kind};
}

namespace {

Status CheckNumber(const std::string& name, const std::string& text, Flags::Kind kind) {
  char* end = nullptr;
  if (kind == Flags::Kind::kInt) (void)std::strtoll(text.c_str(), &end, 10);
  else (void)std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0') return Status::Ok();
  const char* parser = kind == Flags::Kind::kInt ? "strconv.ParseInt" : "strconv.ParseFloat";
  return Status(Code::kInvalidArgument, "invalid argument \"" + text + "\" for \"--" + name + "\" flag: " +
                                            parser + ": parsing \"" + text + "\": invalid syntax");
}

}  // namespace

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
    if (!has_value && it->second.kind == Kind::kBool) {
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size())
        return Status(Code::kInvalidArgument, "flag needs an argument: " + arg);
      value = args[++i];
    }
    if (it->second.kind == Kind::kInt || it->second.kind == Kind::kFloat) {
      if (auto status = CheckNumber(name, value, it->second.kind); !status.ok()) return status;
    }
    it->second.value = value;
  }
  return Status::Ok();
}

const std::string& Flags::String(const std::string& name) const { return flags_.at(name).value; }

int64_t Flags::Int(const std::string& name) const { return std::strtoll(flags_.at(name).value.c_str(), nullptr, 10); }

double Flags::Double(const std::string& name) const { return std::strtod(flags_.at(name).value.c_str(), nullptr); }

bool Flags::Bool(const std::string& name) const {
  const std::string& text = flags_.at(name).value;
  return text == "true" || text == "1";
}

std::string Flags::Usage() const {
  std::string out;
  for (const auto& name : order_) {
    const Flag& flag = flags_.at(name);
    std::string left = "      --" + name;
    if (flag.kind != Kind::kBool) left += " value";
    left.resize(std::max<size_t>(left.size() + 1, 34), ' ');
    out += left + flag.help;
    if (!flag.default_value.empty() && flag.kind != Kind::kBool) out += " (default " + flag.default_value + ")";
    out += "\n";
  }
  return out;
}

}  // namespace etcpp::bench
