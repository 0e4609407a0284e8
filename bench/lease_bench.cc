// lease_bench: lease keep-alives per second that one server answers.
//
//   lease_bench --endpoint 127.0.0.1:2379 [--streams 8] [--leases 100] [--seconds 10]
//               [--window 64]
//
// Grants `leases` leases (TTL 60 s), then each of `streams` KeepAlive streams renews
// them round robin with `window` requests in flight, for `seconds`. Prints the rate of
// answered keep-alives. Works against etcd and etcpp alike (docs/PERFORMANCE.md, "Lease").
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace {

struct Options {
  std::string endpoint = "127.0.0.1:2379";
  int streams = 8;
  int leases = 100;
  int seconds = 10;
  int window = 64;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--endpoint") o.endpoint = value;
    else if (flag == "--streams") o.streams = std::atoi(value.c_str());
    else if (flag == "--leases") o.leases = std::atoi(value.c_str());
    else if (flag == "--seconds") o.seconds = std::atoi(value.c_str());
    else if (flag == "--window") o.window = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  auto channel = grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  auto stub = etcdserverpb::Lease::NewStub(channel);
  std::vector<int64_t> ids;
  for (int i = 0; i < o.leases; ++i) {
    grpc::ClientContext context;
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(60);
    etcdserverpb::LeaseGrantResponse response;
    grpc::Status status = stub->LeaseGrant(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "grant: %s\n", status.error_message().c_str());
      return 1;
    }
    ids.push_back(response.id());
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> answered{0};
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < o.streams; ++s) {
    threads.emplace_back([&, s] {
      grpc::ClientContext context;
      auto stream = stub->LeaseKeepAlive(&context);
      etcdserverpb::LeaseKeepAliveRequest request;
      etcdserverpb::LeaseKeepAliveResponse response;
      size_t next = static_cast<size_t>(s);
      int64_t in_flight = 0, mine = 0;
      auto send = [&] {
        request.set_id(ids[next++ % ids.size()]);
        ++in_flight;
        return stream->Write(request);
      };
      for (int i = 0; i < o.window; ++i) send();
      while (in_flight > 0 && stream->Read(&response)) {
        --in_flight;
        ++mine;
        if (!stop.load() && !send()) break;
      }
      answered += mine;
      stream->WritesDone();
      while (stream->Read(&response)) {}
      (void)stream->Finish();
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %lld keep-alives in %.1f s = %.0f keep-alives/s (%d streams, %d leases, window %d)\n",
              o.endpoint.c_str(), static_cast<long long>(answered.load()), elapsed,
              static_cast<double>(answered.load()) / elapsed, o.streams, o.leases, o.window);
  return 0;
}
