#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace etcpp::bench {
namespace {

// The percentiles etcd's report prints.
constexpr double kPercentiles[] = {10, 25, 50, 75, 90, 95, 99, 99.9};

std::string Format(bool precise, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, precise ? "%g" : "%4.4f", value);
  return buffer;
}

// Go's %v of a float64 percentile label: "10", "99.9".
std::string Label(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", p);
  return buffer;
}

// The latency at each percentile: the first sorted sample at or above it, etcd's rule.
std::vector<double> Percentiles(const std::vector<double>& sorted) {
  std::vector<double> out(std::size(kPercentiles), 0);
  size_t j = 0;
  for (size_t i = 0; i < sorted.size() && j < out.size(); ++i) {
    const double current = static_cast<double>(i) * 100.0 / static_cast<double>(sorted.size());
    if (current >= kPercentiles[j]) out[j++] = sorted[i];
  }
  return out;
}

}  // namespace

void Report::Begin() {
  if (!begun_) begin_ = Clock::now();
  begun_ = true;
}

void Report::End(Clock::time_point at) { end_ = at; }

size_t Report::errors() const {
  size_t n = 0;
  for (const auto& [message, count] : errors_) n += count;
  return n;
}

void Report::Finish() {
  if (finished_) return;
  finished_ = true;
  std::sort(latencies_.begin(), latencies_.end());
  total_ = begun_ ? std::chrono::duration<double>(end_ - begin_).count() : 0;
  if (latencies_.empty()) return;
  double sum = 0;
  for (double l : latencies_) sum += l;
  average_ = sum / static_cast<double>(latencies_.size());
  double squares = 0;
  for (double l : latencies_) squares += (l - average_) * (l - average_);
  stddev_ = std::sqrt(squares / static_cast<double>(latencies_.size()));
  rps_ = total_ > 0 ? static_cast<double>(latencies_.size()) / total_ : 0;
}

std::string Report::Text(bool precise) {
  Finish();
  std::string s;
  auto secs = [&](double v) { return Format(precise, v) + " secs.\n"; };
  if (!latencies_.empty()) {
    s += "\nSummary:\n";
    s += "  Total:\t" + secs(total_);
    s += "  Slowest:\t" + secs(latencies_.back());
    s += "  Fastest:\t" + secs(latencies_.front());
    s += "  Average:\t" + secs(average_);
    s += "  Stddev:\t" + secs(stddev_);
    s += "  Requests/sec:\t" + Format(precise, rps_) + "\n";

    // Ten equal buckets from the fastest to the slowest plus one at the slowest; each
    // sample counts in the first bucket whose bound is at least its latency.
    constexpr int kBuckets = 10;
    const double fastest = latencies_.front(), slowest = latencies_.back();
    std::vector<double> bounds(kBuckets + 1);
    for (int i = 0; i < kBuckets; ++i) bounds[i] = fastest + (slowest - fastest) / kBuckets * i;
    bounds[kBuckets] = slowest;
    std::vector<size_t> counts(kBuckets + 1, 0);
    size_t b = 0, most = 0;
    for (double l : latencies_) {
      while (l > bounds[b] && b < bounds.size() - 1) ++b;
      most = std::max(most, ++counts[b]);
    }
    s += "\nResponse time histogram:\n";
    for (size_t i = 0; i < bounds.size(); ++i) {
      std::string bar;
      for (size_t n = counts[i] * 40 / most; n > 0; --n) bar += "\u220e";
      s += "  " + Format(precise, bounds[i]) + " [" + std::to_string(counts[i]) + "]\t|" + bar + "\n";
    }

    s += "\nLatency distribution:\n";
    const auto values = Percentiles(latencies_);
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] > 0) s += "  " + Label(kPercentiles[i]) + "% in " + secs(values[i]);
    }
  }
  if (!errors_.empty()) {
    s += "\nError distribution:\n";
    for (const auto& [message, count] : errors_) s += "  [" + std::to_string(count) + "]\t" + message + "\n";
  }
  return s;
}

std::string Report::RateText(bool precise) {
  Finish();
  return " Requests/sec:\t" + Format(precise, rps_) + "\n";
}

nlohmann::json Report::Json() {
  Finish();
  nlohmann::json j;
  j["total_secs"] = total_;
  j["requests"] = latencies_.size();
  j["requests_per_sec"] = rps_;
  j["errors"] = errors_;
  if (latencies_.empty()) return j;
  j["slowest_secs"] = latencies_.back();
  j["fastest_secs"] = latencies_.front();
  j["average_secs"] = average_;
  j["stddev_secs"] = stddev_;
  const auto values = Percentiles(latencies_);
  nlohmann::json percentiles;
  for (size_t i = 0; i < values.size(); ++i) percentiles["p" + Label(kPercentiles[i])] = values[i];
  j["percentiles_secs"] = percentiles;
  return j;
}

}  // namespace etcpp::bench
