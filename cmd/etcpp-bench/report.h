// Report: the latencies and errors of one benchmark, printed as etcd's benchmark tool
// prints them (Summary, Response time histogram, Latency distribution, Error
// distribution) or as JSON for bench/compare.
//
// Single-threaded: the engine thread adds every result.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace etcpp::bench {

class Report {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Report(std::string name) : name_(std::move(name)) {}

  // The wall-clock span the rate is computed over: the first Begin to the last End.
  void Begin();
  void End(Clock::time_point at = Clock::now());
  void Add(Clock::duration latency) { latencies_.push_back(std::chrono::duration<double>(latency).count()); }
  void AddError(const std::string& message) { ++errors_[message]; }

  const std::string& name() const { return name_; }
  size_t successes() const { return latencies_.size(); }
  size_t errors() const;

  // etcd's text; `precise` prints %g instead of %4.4f.
  std::string Text(bool precise);
  // Only the rate line, as etcd prints for phases whose latency means nothing.
  std::string RateText(bool precise);
  nlohmann::json Json();

 private:
  void Finish();  // sorts and computes the statistics once

  std::string name_;
  std::vector<double> latencies_;  // seconds
  std::map<std::string, size_t> errors_;
  Clock::time_point begin_{}, end_{};
  bool begun_ = false;

  bool finished_ = false;
  double total_ = 0, average_ = 0, stddev_ = 0, rps_ = 0;
};

}  // namespace etcpp::bench
