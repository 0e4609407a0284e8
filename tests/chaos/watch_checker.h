// The watch checker: did a watcher of a key range receive exactly the changes the store
// made, in order, whole revisions at a time, and did it resume where it left off?
//
// Input: the final history of the watched range (every put and delete, in revision
// order, as a Range of the store's history or the writers' acknowledgements give it),
// and the sessions of one watcher: each session is one Watch stream, opened at a start
// revision, with the responses it received in order. A watcher that loses its stream
// opens the next session at (last revision received) + 1.
//
// Rules checked (etcd's watch guarantees):
//   ordered     revisions never go down, and each response starts after the last one;
//   no gap      a session delivers every event of the history from its start revision
//               on, with nothing missing (it may stop early: the stream was cut);
//   no duplicate nothing is delivered twice, within a session or across a resume;
//   atomic      all events of one revision come in one response;
//   resumable   a session starts right after the last revision the previous ones
//               delivered (a later start loses events, an earlier one repeats them);
//   complete    (when asked) by the end, everything in the history was delivered.
// Each session reports its first problem only: one missing event would otherwise shift
// and flag all that follow.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace etcpp::chaos {

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value;  // kPut
  int64_t revision = 0;
  bool operator==(const WatchEvent&) const = default;
};

struct WatchResponse {
  std::vector<WatchEvent> events;
};

struct WatchSession {
  int64_t start_revision = 1;
  std::vector<WatchResponse> responses;
};

struct WatchCheckResult {
  std::vector<std::string> problems;  // empty when every rule holds
  int64_t events_checked = 0;
  bool ok() const { return problems.empty(); }
  std::string Explain() const;
};

WatchCheckResult CheckWatch(const std::vector<WatchEvent>& history,
                            const std::vector<WatchSession>& sessions, bool expect_complete);

std::string Format(const WatchEvent& event);

}  // namespace etcpp::chaos
