#include "tests/chaos/history.h"

#include <algorithm>
#include <cstdio>

namespace etcpp::chaos {

namespace {

std::string Millis(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3fms", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string Call(const Operation& op) {
  switch (op.kind) {
    case OpKind::kGet:
      return "get " + op.key;
    case OpKind::kPut:
      return "put " + op.key + " = " + Quoted(op.value);
    case OpKind::kDelete:
      return "delete " + op.key;
    case OpKind::kCas: {
      std::string compare = op.compare_target == CompareTarget::kValue
                                ? "value == " + Quoted(op.compare_value)
                                : "mod_rev == " + std::to_string(op.compare_mod_revision);
      return "cas " + op.key + " " + compare + " then " + Quoted(op.value);
    }
    case OpKind::kRangeCount:
      return "count [" + op.key + ", " + op.range_end + ")";
  }
  return "?";
}

std::string Answer(const Operation& op) {
  if (op.outcome == Outcome::kFailed) return "failed";
  if (op.outcome == Outcome::kUnknown) return "unknown";
  switch (op.kind) {
    case OpKind::kGet:
      return op.found ? "ok " + Quoted(op.result_value) + " mod_rev " +
                            std::to_string(op.mod_revision)
                      : "ok not found";
    case OpKind::kPut:
      return "ok rev " + std::to_string(op.revision);
    case OpKind::kDelete:
      return "ok deleted " + std::to_string(op.deleted);
    case OpKind::kCas:
      return op.succeeded ? "ok succeeded rev " + std::to_string(op.revision) : "ok not succeeded";
    case OpKind::kRangeCount:
      return "ok count " + std::to_string(op.count);
  }
  return "?";
}

}  // namespace

std::string Format(const Operation& op, int64_t origin_ns) {
  std::string complete =
      op.outcome == Outcome::kOk ? Millis(op.complete_ns - origin_ns) : std::string("...");
  return "c" + std::to_string(op.client) + " [" + Millis(op.invoke_ns - origin_ns) + ", " +
         complete + "] " + Call(op) + " -> " + Answer(op);
}

std::string Format(const History& history) {
  History sorted = history;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Operation& a, const Operation& b) {
    return a.invoke_ns < b.invoke_ns;
  });
  int64_t origin = sorted.empty() ? 0 : sorted.front().invoke_ns;
  std::string out;
  for (const auto& op : sorted) out += Format(op, origin) + "\n";
  return out;
}

}  // namespace etcpp::chaos
