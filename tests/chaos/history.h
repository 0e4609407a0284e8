// A client history of key-value operations, as the linearizability checker reads it.
//
// Each operation has the time its client invoked it and the time the answer came back
// (nanoseconds on one monotonic clock), what it asked and what it was told. Outcomes:
//   kOk       the server answered; the result fields hold the answer.
//   kFailed   the operation certainly did not take effect (a read that timed out, a
//             write the server refused); the checker ignores it.
//   kUnknown  a write that timed out or lost its connection: it may or may not have taken
//             effect, at any time after its invocation (it completes at +infinity).
//
// The model is etcd's KV on single keys plus range counts:
//   Get(key)                     -> found, value, mod_revision
//   Put(key, value)              -> revision (the header revision: the key's new mod_revision)
//   Delete(key)                  -> deleted (0 or 1)
//   Cas(key, compare, value)     -> succeeded, revision; compare is value == X or
//                                   mod_revision == R (R = 0: the key does not exist)
//   RangeCount([key, range_end)) -> count of keys that exist
// Values written should be unique per history: the checker then knows which write a
// read saw, which sharpens the sub-history it reports. A compare on mod_revision should
// use a revision the client learned from an answer (a read, its own write): the checker
// learns the revision of an unknown-outcome write only from a read that saw its value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace etcpp::chaos {

enum class OpKind { kGet, kPut, kDelete, kCas, kRangeCount };
enum class Outcome { kOk, kFailed, kUnknown };
enum class CompareTarget { kValue, kModRevision };

struct Operation {
  int client = 0;
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;  // ignored unless the outcome is kOk
  OpKind kind = OpKind::kGet;
  Outcome outcome = Outcome::kOk;

  // What was asked.
  std::string key;
  std::string range_end;  // kRangeCount: keys in [key, range_end)
  std::string value;      // kPut, kCas: the value written
  CompareTarget compare_target = CompareTarget::kValue;  // kCas
  std::string compare_value;                             // kCas on kValue
  int64_t compare_mod_revision = 0;                      // kCas on kModRevision

  // What was answered (kOk only).
  bool found = false;           // kGet
  std::string result_value;     // kGet, when found
  int64_t mod_revision = 0;     // kGet, when found
  int64_t revision = 0;         // kPut, kCas when succeeded
  int64_t deleted = 0;          // kDelete
  bool succeeded = false;       // kCas
  int64_t count = 0;            // kRangeCount
};

using History = std::vector<Operation>;

// One line per operation, e.g.
//   c3 [1.204ms, 3.001ms] put k1 = "c3-17" -> ok rev 42
//   c1 [2.000ms, ...] cas k1 value == "c3-17" then "c1-9" -> unknown
// Times are relative to `origin_ns`.
std::string Format(const Operation& op, int64_t origin_ns = 0);
// All of them, one per line, in invocation order, relative to the first invocation.
std::string Format(const History& history);

}  // namespace etcpp::chaos
