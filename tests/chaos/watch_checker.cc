#include "tests/chaos/watch_checker.h"

#include <algorithm>

namespace etcpp::chaos {

namespace {

// The first history event at or after `revision`.
size_t FirstAtOrAfter(const std::vector<WatchEvent>& history, int64_t revision) {
  return std::lower_bound(history.begin(), history.end(), revision,
                          [](const WatchEvent& e, int64_t r) { return e.revision < r; }) -
         history.begin();
}

// Checks a session's start against what earlier sessions delivered.
void CheckResume(const std::vector<WatchEvent>& history, const std::string& where, int64_t start,
                 int64_t expected, std::vector<std::string>& problems) {
  if (start > expected) {
    size_t skipped = FirstAtOrAfter(history, expected);
    if (skipped < history.size() && history[skipped].revision < start) {
      problems.push_back(where + ": resumed at revision " + std::to_string(start) + " instead of " +
                         std::to_string(expected) + ", losing " + Format(history[skipped]));
    }
  } else if (start < expected) {
    size_t repeated = FirstAtOrAfter(history, start);
    if (repeated < history.size() && history[repeated].revision < expected) {
      problems.push_back(where + ": resumed at revision " + std::to_string(start) + " instead of " +
                         std::to_string(expected) + ", repeating " + Format(history[repeated]));
    }
  }
}

std::string Mismatch(const WatchEvent& got, const WatchEvent& expected) {
  std::string what = got.revision < expected.revision   ? "duplicate or out of order"
                     : got.revision > expected.revision ? "gap"
                                                        : "wrong event";
  return what + ": expected " + Format(expected) + ", got " + Format(got);
}

// Checks one session's events against the history from its start revision on. Returns
// the last revision it delivered (0 if none).
int64_t CheckSession(const std::vector<WatchEvent>& history, const std::string& where,
                     const WatchSession& session, WatchCheckResult& result) {
  size_t next = FirstAtOrAfter(history, session.start_revision);
  int64_t last = 0;
  for (size_t r = 0; r < session.responses.size(); ++r) {
    const auto& events = session.responses[r].events;
    std::string at = where + ", response " + std::to_string(r);
    for (const WatchEvent& event : events) {
      ++result.events_checked;
      if (next >= history.size()) {
        result.problems.push_back(at + ": " + Format(event) + " is past the end of the history");
        return last;
      }
      if (!(event == history[next])) {
        result.problems.push_back(at + ": " + Mismatch(event, history[next]));
        return last;
      }
      last = event.revision;
      ++next;
    }
    if (!events.empty() && next < history.size() && history[next].revision == last) {
      result.problems.push_back(at + ": revision " + std::to_string(last) +
                                " split across responses, " + Format(history[next]) +
                                " is not in the response that delivered it");
      return last;
    }
  }
  return last;
}

}  // namespace

std::string Format(const WatchEvent& event) {
  std::string what = event.type == WatchEvent::Type::kPut ? "put " + event.key + " = \"" + event.value + "\""
                                                          : "delete " + event.key;
  return what + " @" + std::to_string(event.revision);
}

WatchCheckResult CheckWatch(const std::vector<WatchEvent>& history,
                            const std::vector<WatchSession>& sessions, bool expect_complete) {
  WatchCheckResult result;
  for (size_t i = 1; i < history.size(); ++i) {
    if (history[i].revision < history[i - 1].revision) {
      result.problems.push_back("the history itself is not in revision order at " + Format(history[i]));
      return result;
    }
  }
  int64_t delivered = 0;  // the last revision any session delivered
  for (size_t s = 0; s < sessions.size(); ++s) {
    std::string where = "session " + std::to_string(s);
    if (s > 0) {
      // A watcher that got nothing yet reopens where it first asked to start.
      int64_t expected = delivered > 0 ? delivered + 1 : sessions[0].start_revision;
      CheckResume(history, where, sessions[s].start_revision, expected, result.problems);
    }
    delivered = std::max(delivered, CheckSession(history, where, sessions[s], result));
  }
  if (expect_complete && !sessions.empty()) {
    size_t wanted = FirstAtOrAfter(history, std::max(delivered + 1, sessions[0].start_revision));
    if (wanted < history.size()) {
      result.problems.push_back("incomplete: never delivered " + Format(history[wanted]) +
                                " (last delivered revision " + std::to_string(delivered) + ")");
    }
  }
  return result;
}

std::string WatchCheckResult::Explain() const {
  if (problems.empty()) return "watch ok: " + std::to_string(events_checked) + " events\n";
  std::string out = "watch NOT ok, " + std::to_string(problems.size()) + " problems:\n";
  for (const auto& p : problems) out += "  " + p + "\n";
  return out;
}

}  // namespace etcpp::chaos
