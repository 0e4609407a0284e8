// watch_bench: Watch delivery by etcd and etcpp side by side, over gRPC on loopback.
// For each watcher count W (default 1, 1000, 100000) it opens min(W, 1000) streams, all
// watchers on one key, then measures:
//   - memory per idle watcher: the server's RSS growth from creating them, / W;
//   - events delivered per second: `puts` puts of that key (each fans out to W events),
//     from the first put until the last event arrives;
//   - put-to-event latency p50/p99: each value is the put's send time (steady clock, ns).
// Client and servers share the machine, so figures are relative: compare the columns.
// Usage: watch_bench [--puts N] [--watchers 1,1000,100000] [--server etcd|etcpp|both]
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/harness.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// utime + stime of `pid` in seconds: on a shared machine the server's CPU per event is
// steadier than wall-clock rates.
double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::atol(field.c_str());
  }
  return static_cast<double>(ticks) / sysconf(_SC_CLK_TCK);
}

long RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

struct Totals {
  std::atomic<int64_t> created{0};
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> last_event_ns{0};
};

// One stream with `watchers` watchers on the bench key; records each event's latency.
class Reader final
    : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  Reader(etcdserverpb::Watch::Stub* stub, int watchers, Totals* totals)
      : to_create_(watchers), totals_(totals) {
    stub->async()->Watch(&context_, this);
    request_.mutable_create_request()->set_key("bench/key");
    StartRead(&response_);
    NextCreate();
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (ok) NextCreate();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (response_.created()) ++totals_->created;
    if (response_.events_size() > 0) {
      const int64_t now = NowNs();
      for (const auto& e : response_.events())
        latencies_.push_back(now - std::stoll(e.kv().value()));
      totals_->events += response_.events_size();
      totals_->last_event_ns = now;
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void Stop() {
    context_.TryCancel();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  const std::vector<int64_t>& latencies() const { return latencies_; }

 private:
  void NextCreate() {
    if (to_create_-- > 0) StartWrite(&request_);
  }
  grpc::ClientContext context_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse response_;
  int to_create_;
  Totals* totals_;
  std::vector<int64_t> latencies_;  // reader's reactions only, read after Stop
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

bool WaitFor(const std::function<bool()>& done, int seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void RunOne(const char* name, etcpp::e2e::Server& server, int watchers, int puts) {
  constexpr int kStreamsMax = 1000, kChannels = 8;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("bench-channel", i);  // distinct channels, distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(server.endpoint(), grpc::InsecureChannelCredentials(), args));
    stubs.push_back(etcdserverpb::Watch::NewStub(channels.back()));
  }
  auto kv = etcdserverpb::KV::NewStub(channels[0]);
  const int streams = std::min(watchers, kStreamsMax);
  Totals totals;
  const long rss_before = RssKiB(server.pid());
  std::vector<std::unique_ptr<Reader>> readers;
  for (int s = 0; s < streams; ++s) {
    int mine = watchers / streams + (s < watchers % streams ? 1 : 0);
    readers.push_back(std::make_unique<Reader>(stubs[s % kChannels].get(), mine, &totals));
  }
  if (!WaitFor([&] { return totals.created.load() >= watchers; }, 600)) {
    std::printf("%s: only %lld of %d watchers created\n", name, (long long)totals.created.load(),
                watchers);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server's allocations settle
  const long rss_idle = RssKiB(server.pid());

  const double cpu_before = CpuSeconds(server.pid());
  const int64_t start = NowNs();
  for (int i = 0; i < puts; ++i) {
    grpc::ClientContext context;
    etcdserverpb::PutRequest put;
    put.set_key("bench/key");
    put.set_value(std::to_string(NowNs()));
    etcdserverpb::PutResponse response;
    if (!kv->Put(&context, put, &response).ok()) std::printf("%s: put failed\n", name);
  }
  const int64_t expected = static_cast<int64_t>(watchers) * puts;
  if (!WaitFor([&] { return totals.events.load() >= expected; }, 600)) {
    std::printf("%s: only %lld of %lld events arrived\n", name, (long long)totals.events.load(),
                (long long)expected);
  }
  const double seconds = (totals.last_event_ns.load() - start) / 1e9;
  const double cpu_us_per_event =
      (CpuSeconds(server.pid()) - cpu_before) * 1e6 / totals.events.load();
  for (auto& r : readers) r->Stop();
  std::vector<int64_t> all;
  for (auto& r : readers) all.insert(all.end(), r->latencies().begin(), r->latencies().end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))] / 1e6;
  };
  std::printf(
      "%-6s watchers=%-7d streams=%-5d events/s=%-10.0f p50=%.2fms p99=%.2fms "
      "rss_per_idle_watcher=%.0fB server_cpu_per_event=%.2fus\n",
      name, watchers, streams, totals.events.load() / seconds, pct(0.5), pct(0.99),
      (rss_idle - rss_before) * 1024.0 / watchers, cpu_us_per_event);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int puts = 200;
  std::vector<int> counts = {1, 1000, 100000};
  std::string which = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--puts") puts = std::atoi(argv[i + 1]);
    if (flag == "--server") which = argv[i + 1];
    if (flag == "--watchers") {
      counts.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) counts.push_back(std::stoi(item));
    }
  }
  for (const char* name : {"etcd", "etcpp"}) {
    if (which != "both" && which != name) continue;
    for (int watchers : counts) {
      // A fresh server per count: RSS growth then measures these watchers alone.
      etcpp::e2e::TempDir dir;
      etcpp::e2e::Server server(std::string(name) == "etcd" ? etcpp::e2e::Server::Kind::kEtcd
                                                            : etcpp::e2e::Server::Kind::kEtcpp,
                                dir.path() + "/data");
      if (!server.Healthy()) {
        std::printf("%s did not start:\n%s\n", name, server.Log().c_str());
        return 1;
      }
      // Fewer puts when each fans out to many watchers: about the same events per run.
      RunOne(name, server, watchers, std::max(5, std::min(puts, 2000000 / watchers)));
    }
  }
  return 0;
}
