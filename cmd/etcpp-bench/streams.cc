// watch-latency, watch and lease-keepalive: workloads on bidirectional streams, driven
// by the engine's thread like the unary ones.
#include <iostream>
#include <random>

#include "workloads.h"

namespace etcpp::bench {
namespace {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;
using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

int Fail(const std::string& message) {
  std::cerr << message << "\n";
  return 1;
}

// One Watch stream holding `keys.size()` watches; tells its owner about every response.
class WatchStream : public Tag {
 public:
  // on_response(stream, response) for every response after the stream is up;
  // on_end(stream, status) once when it ends (cancelled or failed).
  using OnResponse = std::function<void(WatchStream&, const WatchResponse&)>;
  using OnEnd = std::function<void(WatchStream&, const grpc::Status&)>;

  WatchStream(Engine& engine, int index, std::vector<std::string> keys, OnResponse on_response, OnEnd on_end)
      : engine_(engine), index_(index), keys_(std::move(keys)), on_response_(std::move(on_response)),
        on_end_(std::move(on_end)) {}

  void Start() {
    engine_.Hold();
    auto endpoint = engine_.Prepare(index_, context_);
    if (!endpoint.ok()) {
      on_end_(*this, grpc::Status(grpc::StatusCode::UNAVAILABLE, endpoint.status().message()));
      return engine_.Release();
    }
    stream_ = (*endpoint)->watch->PrepareAsyncWatch(&context_, engine_.queue());
    state_ = State::kStarting;
    stream_->StartCall(this);
  }

  void Cancel() { context_.TryCancel(); }
  Clock::time_point create_sent() const { return create_sent_; }

  void Proceed(bool ok) override {
    if (state_ == State::kFinishing) {
      on_end_(*this, status_);
      return engine_.Release();
    }
    if (!ok) {
      state_ = State::kFinishing;
      return stream_->Finish(&status_, this);
    }
    switch (state_) {
      case State::kStarting:
        return WriteCreate();
      case State::kWriting:
        state_ = State::kReading;
        return stream_->Read(&response_, this);
      case State::kReading:
        on_response_(*this, response_);
        // One create request at a time: the next goes out once this one is answered.
        if (response_.created() && next_key_ < keys_.size()) return WriteCreate();
        return stream_->Read(&response_, this);
      case State::kFinishing:
        break;
    }
  }

 private:
  enum class State { kStarting, kWriting, kReading, kFinishing };

  Engine& engine_;
  const int index_;
  const std::vector<std::string> keys_;
  const OnResponse on_response_;
  const OnEnd on_end_;

  void WriteCreate() {
    request_.mutable_create_request()->set_key(keys_[next_key_++]);
    state_ = State::kWriting;
    create_sent_ = Clock::now();
    stream_->Write(request_, this);
  }

  State state_ = State::kStarting;
  size_t next_key_ = 0;
  WatchRequest request_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<WatchRequest, WatchResponse>> stream_;
  WatchResponse response_;
  grpc::Status status_;
  Clock::time_point create_sent_;
};

// A single put in flight at a time, for the watch workloads: Send(key, value, done).
class Putter : public Tag {
 public:
  explicit Putter(Engine& engine) : engine_(engine) {}

  void Send(const std::string& key, const std::string& value, std::function<void(const grpc::Status&)> done) {
    done_ = std::move(done);
    request_.set_key(key);
    request_.set_value(value);
    const auto start = engine_.Reserve();
    waiting_ = start > Clock::now();
    if (waiting_) return WakeAt(engine_, alarm_, start, this);
    Issue();
  }

  void Proceed(bool) override {
    if (waiting_) {
      waiting_ = false;
      return Issue();
    }
    engine_.Release();
    done_(status_);
  }

  Clock::time_point sent() const { return sent_; }

 private:
  void Issue() {
    engine_.Hold();
    context_ = std::make_unique<grpc::ClientContext>();
    auto endpoint = engine_.Prepare(0, *context_);
    if (!endpoint.ok()) {
      status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, endpoint.status().message());
      engine_.Release();
      return done_(status_);
    }
    sent_ = Clock::now();
    reader_ = (*endpoint)->kv->PrepareAsyncPut(context_.get(), request_, engine_.queue());
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }

  Engine& engine_;
  grpc::Alarm alarm_;
  bool waiting_ = false;
  etcdserverpb::PutRequest request_;
  etcdserverpb::PutResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> reader_;
  std::function<void(const grpc::Status&)> done_;
  Clock::time_point sent_;
};

// --clients watchers on one key; each of --total puts (at most --put-rate per second,
// one at a time) is timed from the moment the put is sent to each watcher's event.
// (etcd's watch-latency starts the clock when the put returns, so an event that
// arrives before the put's answer counts as zero; we count the whole write-to-notify.)
int RunWatchLatency(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  const int64_t total = flags.Int("total");
  const std::string key = RandomBytes(flags.Int("key-size")), value = RandomBytes(flags.Int("val-size"));
  Report report("watch-latency");
  const int watchers = engine.clients();
  int ready = 0, events = 0, puts = 0;
  bool put_done = false, over = false;
  std::vector<std::unique_ptr<WatchStream>> streams;
  Putter putter(engine);
  engine.SetRate(flags.Int("put-rate"));

  auto stop = [&] {
    over = true;
    for (auto& s : streams) s->Cancel();
  };
  std::function<void()> next_put;
  auto advance = [&] {
    if (over || !put_done || events < watchers * puts) return;
    if (puts == total) return stop();
    next_put();
  };
  next_put = [&] {
    put_done = false;
    ++puts;
    report.Begin();
    putter.Send(key, value, [&](const grpc::Status& status) {
      put_done = true;
      if (!status.ok()) {
        report.AddError("Failed to Put for watch latency benchmark: " + ErrorText(status));
        return stop();
      }
      advance();
    });
  };
  auto on_response = [&](WatchStream&, const WatchResponse& response) {
    if (response.created()) {
      if (++ready == watchers) next_put();
      return;
    }
    for (int i = 0; i < response.events_size(); ++i) {
      report.Add(Clock::now() - putter.sent());
      report.End();
      ++events;
    }
    advance();
  };
  auto on_end = [&](WatchStream&, const grpc::Status& status) {
    if (!over) {
      report.AddError(ErrorText(status));
      stop();
    }
  };
  for (int i = 0; i < watchers; ++i)
    streams.push_back(std::make_unique<WatchStream>(engine, i, std::vector<std::string>{key}, on_response, on_end));
  for (auto& s : streams) s->Start();
  engine.Run();
  return PrintReports(options, {&report}, {""});
}

// --streams streams with --watch-per-stream watches each, on keys drawn from
// --watched-key-total random keys; then --put-total puts on those keys at --put-rate.
// Reports how long each watch took to be created and the rate of events received.
int RunWatch(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  const int64_t streams_n = flags.Int("streams"), per_stream = flags.Int("watch-per-stream"),
                keys_n = flags.Int("watched-key-total"), puts_n = flags.Int("put-total");
  if (keys_n <= 0 || streams_n <= 0 || per_stream <= 0)
    return Fail("--streams, --watch-per-stream and --watched-key-total must be positive");
  std::vector<std::string> keys;
  for (int64_t i = 0; i < keys_n; ++i) keys.push_back(RandomBytes(flags.Int("key-size")));
  Report creation("watch-creation"), received("watch-events");
  int64_t created = 0, expected = 0, events = 0, puts = 0;
  bool over = false;
  std::vector<std::unique_ptr<WatchStream>> streams;
  std::vector<int64_t> watchers_of(keys.size(), 0);
  Putter putter(engine);
  engine.SetRate(flags.Int("put-rate"));

  auto stop = [&] {
    over = true;
    for (auto& s : streams) s->Cancel();
  };
  auto maybe_stop = [&] {
    if (puts == puts_n && events >= expected) stop();
  };
  std::function<void()> next_put = [&] {
    if (puts == puts_n) return maybe_stop();
    const size_t k = static_cast<size_t>(puts++ % keys_n);
    expected += watchers_of[k];
    received.Begin();
    putter.Send(keys[k], "data", [&](const grpc::Status& status) {
      if (!status.ok()) {
        received.AddError(ErrorText(status));
        return stop();
      }
      next_put();
    });
  };
  auto on_response = [&](WatchStream& stream, const WatchResponse& response) {
    if (response.created()) {
      creation.Begin();
      creation.Add(Clock::now() - stream.create_sent());
      creation.End();
      if (++created == streams_n * per_stream) next_put();
      return;
    }
    for (int i = 0; i < response.events_size(); ++i) {
      received.Add(Clock::duration(0));
      received.End();
      ++events;
    }
    maybe_stop();
  };
  auto on_end = [&](WatchStream&, const grpc::Status& status) {
    if (!over) {
      creation.AddError(ErrorText(status));
      stop();
    }
  };
  int64_t next_key = 0;
  for (int64_t s = 0; s < streams_n; ++s) {
    std::vector<std::string> mine;
    for (int64_t w = 0; w < per_stream; ++w) {
      const size_t k = static_cast<size_t>(next_key++ % keys_n);
      ++watchers_of[k];
      mine.push_back(keys[k]);
    }
    streams.push_back(std::make_unique<WatchStream>(engine, static_cast<int>(s), mine, on_response, on_end));
  }
  creation.Begin();
  for (auto& s : streams) s->Start();
  engine.Run();
  if (options.json) return PrintReports(options, {&creation, &received}, {"", ""});
  std::cout << "Watch creation summary:\n" << creation.Text(options.precise);
  std::cout << "Watch events received summary:\n" << received.RateText(options.precise);
  return 0;
}

// One simulated client of lease-keepalive: grants a lease (TTL 100 s), then sends
// keep-alives one at a time on one LeaseKeepAlive stream, timing each round trip.
// (etcd's benchmark opens a stream per keep-alive with KeepAliveOnce; a long-lived
// stream is how real clients keep leases, and both servers get the same.)
class KeepAliveClient : public Tag {
 public:
  KeepAliveClient(Engine& engine, int index, int64_t& remaining, Report& report)
      : engine_(engine), index_(index), remaining_(remaining), report_(report) {}

  void Start() {
    engine_.Hold();
    auto endpoint = engine_.Prepare(index_, grant_context_);
    if (!endpoint.ok()) return End(endpoint.status().message());
    endpoint_ = *endpoint;
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(100);
    grant_ = endpoint_->lease->PrepareAsyncLeaseGrant(&grant_context_, request, engine_.queue());
    grant_->StartCall();
    state_ = State::kGranting;
    grant_->Finish(&grant_response_, &status_, this);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kGranting:
        if (!status_.ok()) return End(ErrorText(status_));
        if (!engine_.Prepare(index_, stream_context_).ok()) return End("no connection");
        stream_ = endpoint_->lease->PrepareAsyncLeaseKeepAlive(&stream_context_, engine_.queue());
        state_ = State::kStarting;
        return stream_->StartCall(this);
      case State::kStarting:
      case State::kReading:
        if (!ok) return Finish();
        if (state_ == State::kReading) {
          report_.Add(Clock::now() - sent_);
          report_.End();
        }
        if (remaining_ == 0) {
          stream_context_.TryCancel();
          return Finish();
        }
        --remaining_;
        request_.set_id(grant_response_.id());
        state_ = State::kWriting;
        report_.Begin();
        sent_ = Clock::now();
        return stream_->Write(request_, this);
      case State::kWriting:
        if (!ok) return Finish();
        state_ = State::kReading;
        return stream_->Read(&response_, this);
      case State::kFinishing:
        if (!status_.ok() && status_.error_code() != grpc::StatusCode::CANCELLED) report_.AddError(ErrorText(status_));
        return engine_.Release();
    }
  }

 private:
  enum class State { kGranting, kStarting, kWriting, kReading, kFinishing };

  void Finish() {
    state_ = State::kFinishing;
    stream_->Finish(&status_, this);
  }
  void End(const std::string& error) {
    report_.AddError(error);
    engine_.Release();
  }

  Engine& engine_;
  const int index_;
  int64_t& remaining_;
  Report& report_;

  State state_ = State::kGranting;
  client::Endpoint* endpoint_ = nullptr;
  grpc::ClientContext grant_context_, stream_context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::LeaseGrantResponse>> grant_;
  etcdserverpb::LeaseGrantResponse grant_response_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<LeaseKeepAliveRequest, LeaseKeepAliveResponse>> stream_;
  LeaseKeepAliveRequest request_;
  LeaseKeepAliveResponse response_;
  grpc::Status status_;
  Clock::time_point sent_;
};

int RunLeaseKeepAlive(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  int64_t remaining = flags.Int("total");
  Report report("lease-keepalive");
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (int i = 0; i < engine.clients(); ++i)
    clients.push_back(std::make_unique<KeepAliveClient>(engine, i, remaining, report));
  for (auto& c : clients) c->Start();
  engine.Run();
  return PrintReports(options, {&report}, {""});
}

}  // namespace

std::vector<Command> StreamCommands() {
  return {
      {"watch-latency", "watch-latency", "Benchmark watch latency",
       [](Flags& flags) {
         flags.Define("total", "10000", "Total number of put requests");
         flags.Define("put-rate", "100", "Number of keys to put per second");
         flags.Define("key-size", "32", "Key size of watch response");
         flags.Define("val-size", "32", "Value size of watch response");
       },
       RunWatchLatency},
      {"watch", "watch", "Benchmark watch",
       [](Flags& flags) {
         flags.Define("streams", "10", "Total watch streams");
         flags.Define("watch-per-stream", "100", "Total watchers per stream");
         flags.Define("watched-key-total", "1", "Number of keys to be watched");
         flags.Define("put-rate", "0", "Number of keys to put per second");
         flags.Define("put-total", "1000", "Number of put requests");
         flags.Define("key-size", "32", "Key size of watch request");
       },
       RunWatch},
      {"lease-keepalive", "lease-keepalive", "Benchmark lease keepalive",
       [](Flags& flags) { flags.Define("total", "10000", "Total number of lease keepalive requests"); },
       RunLeaseKeepAlive},
  };
}

}  // namespace etcpp::bench
