// put, range, txn-put and txn-mixed: --clients simulated clients, each with one unary
// request in flight at a time, until --total requests have been sent.
#include <iostream>
#include <random>

#include "workloads.h"

namespace etcpp::bench {
namespace {

using etcdserverpb::KV;

// What a unary workload sends: request number `index` into `request`, and the report
// (index into the workload's reports) its result counts in.
template <typename Request>
using Fill = std::function<size_t(int64_t index, Request& request)>;

template <typename Request, typename Response>
using PrepareFn = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (KV::Stub::*)(
    grpc::ClientContext*, const Request&, grpc::CompletionQueue*);

// The requests of a workload, handed out in order to whichever client is free.
struct Feed {
  int64_t next = 0;
  int64_t total = 0;
};

// One simulated client: sends, waits for the answer, records it, sends the next.
template <typename Request, typename Response>
class UnaryClient : public Tag {
 public:
  UnaryClient(Engine& engine, int index, Feed& feed, PrepareFn<Request, Response> prepare,
              const Fill<Request>& fill, const std::vector<Report*>& reports)
      : engine_(engine), index_(index), feed_(feed), prepare_(prepare), fill_(fill), reports_(reports) {}

  void Start() {
    engine_.Hold();
    Next();
  }

  void Proceed(bool) override {
    if (state_ == State::kWaiting) return Send();
    Report& report = *reports_[report_];
    if (status_.ok()) report.Add(Clock::now() - sent_);
    else report.AddError(ErrorText(status_));
    report.End();
    Next();
  }

 private:
  enum class State { kWaiting, kInFlight };

  void Next() {
    if (feed_.next >= feed_.total) return engine_.Release();
    report_ = fill_(feed_.next++, request_);
    const auto start = engine_.Reserve();
    if (start > Clock::now()) {
      state_ = State::kWaiting;
      return WakeAt(engine_, alarm_, start, this);
    }
    Send();
  }

  void Send() {
    state_ = State::kInFlight;
    context_ = std::make_unique<grpc::ClientContext>();
    auto endpoint = engine_.Prepare(index_, *context_);
    reports_[report_]->Begin();
    if (!endpoint.ok()) {
      reports_[report_]->AddError(endpoint.status().message());
      return Next();
    }
    sent_ = Clock::now();
    reader_ = ((*endpoint)->kv.get()->*prepare_)(context_.get(), request_, engine_.queue());
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }

  Engine& engine_;
  const int index_;
  Feed& feed_;
  const PrepareFn<Request, Response> prepare_;
  const Fill<Request>& fill_;
  const std::vector<Report*>& reports_;

  State state_ = State::kWaiting;
  grpc::Alarm alarm_;
  Request request_;
  size_t report_ = 0;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
  Response response_;
  grpc::Status status_;
  Clock::time_point sent_;
};

template <typename Request, typename Response>
void RunUnary(Engine& engine, int64_t total, PrepareFn<Request, Response> prepare,
              const Fill<Request>& fill, const std::vector<Report*>& reports) {
  Feed feed{0, total};
  std::vector<std::unique_ptr<UnaryClient<Request, Response>>> clients;
  for (int i = 0; i < engine.clients(); ++i)
    clients.push_back(std::make_unique<UnaryClient<Request, Response>>(engine, i, feed, prepare, fill, reports));
  for (auto& c : clients) c->Start();
  engine.Run();
}

// Flags every write workload shares with etcd's benchmark.
void DefineKeyFlags(Flags& flags, const std::string& what) {
  flags.Define("key-size", "8", "Key size of " + what);
  flags.Define("val-size", "8", "Value size of " + what);
  flags.Define("rate", "0", "Maximum " + what + "s per second (0 is no limit)");
  flags.Define("total", "10000", "Total number of " + what + " requests");
  flags.Define("key-space-size", "1", "Maximum possible keys");
}

int Fail(const std::string& message) {
  std::cerr << message << "\n";
  return 1;
}

int RunPut(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  auto f = [&](const char* name) { return flags.Int(name); };
  if (f("key-space-size") <= 0)
    return Fail("expected positive --key-space-size, got (" + std::to_string(f("key-space-size")) + ")");
  const bool sequential = flags.Bool("sequential-keys");
  const std::string value = RandomBytes(f("val-size"));
  std::mt19937_64 random(std::random_device{}());
  const int64_t space = f("key-space-size"), key_size = f("key-size");
  Fill<etcdserverpb::PutRequest> fill = [&](int64_t i, etcdserverpb::PutRequest& request) {
    const int64_t k = sequential ? i % space : static_cast<int64_t>(random() % space);
    request.set_key(VarintKey(k, key_size));
    request.set_value(value);
    return size_t{0};
  };
  Report report("put");
  engine.SetRate(f("rate"));
  RunUnary(engine, f("total"), &KV::Stub::PrepareAsyncPut, fill, {&report});
  return PrintReports(options, {&report}, {""});
}

int RunRange(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  const auto& args = flags.positional();
  if (args.empty() || args.size() > 2) return Fail("range needs a key and an optional end of range");
  auto f = [&](const char* name) { return flags.Int(name); };
  const std::string consistency = flags.String("consistency");
  if (consistency != "l" && consistency != "s") return Fail("--consistency must be l or s");
  if (!options.json)
    std::cout << "bench with " << (consistency == "l" ? "linearizable" : "serializable") << " range\n";
  etcdserverpb::RangeRequest prototype;
  prototype.set_key(args[0]);
  if (args.size() == 2) prototype.set_range_end(args[1]);
  prototype.set_serializable(consistency == "s");
  Fill<etcdserverpb::RangeRequest> fill = [&](int64_t, etcdserverpb::RangeRequest& request) {
    if (request.key().empty()) request = prototype;  // the same request every time
    return size_t{0};
  };
  Report report("range");
  engine.SetRate(f("rate"));
  RunUnary(engine, f("total"), &KV::Stub::PrepareAsyncRange, fill, {&report});
  return PrintReports(options, {&report}, {""});
}

int RunTxnPut(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  auto f = [&](const char* name) { return flags.Int(name); };
  if (f("key-space-size") <= 0)
    return Fail("expected positive --key-space-size, got (" + std::to_string(f("key-space-size")) + ")");
  if (f("txn-ops") <= 0) return Fail("expected positive --txn-ops, got (" + std::to_string(f("txn-ops")) + ")");
  const std::string value = RandomBytes(f("val-size"));
  std::mt19937_64 random(std::random_device{}());
  Fill<etcdserverpb::TxnRequest> fill = [&](int64_t, etcdserverpb::TxnRequest& request) {
    request.Clear();
    for (int64_t j = 0; j < f("txn-ops"); ++j) {
      auto* put = request.add_success()->mutable_request_put();
      put->set_key(VarintKey(static_cast<int64_t>(random() % f("key-space-size")), f("key-size")));
      put->set_value(value);
    }
    return size_t{0};
  };
  Report report("txn-put");
  engine.SetRate(f("rate"));
  RunUnary(engine, f("total"), &KV::Stub::PrepareAsyncTxn, fill, {&report});
  return PrintReports(options, {&report}, {""});
}

int RunTxnMixed(Engine& engine, const GlobalOptions& options, const Flags& flags) {
  auto f = [&](const char* name) { return flags.Int(name); };
  if (f("key-space-size") <= 0)
    return Fail("expected positive --key-space-size, got (" + std::to_string(f("key-space-size")) + ")");
  const double ratio = flags.Double("rw-ratio");
  const std::string consistency = flags.String("consistency");
  if (consistency != "l" && consistency != "s") return Fail("--consistency must be l or s");
  if (!options.json)
    std::cout << "bench with " << (consistency == "l" ? "linearizable" : "serializable") << " range\n";
  const std::string value = RandomBytes(f("val-size"));
  // Reads range over every key from "\0" (or up to --end-key) with --limit, as etcd's
  // txn-mixed does with an empty key and a prefix.
  const std::string end_key = flags.String("end-key").empty() ? std::string(1, '\0') : flags.String("end-key");
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0, 1);
  const double read_share = ratio / (1 + ratio);
  Fill<etcdserverpb::TxnRequest> fill = [&](int64_t i, etcdserverpb::TxnRequest& request) {
    request.Clear();
    if (uniform(random) < read_share) {
      auto* range = request.add_success()->mutable_request_range();
      range->set_key(std::string(1, '\0'));
      range->set_range_end(end_key);
      range->set_limit(f("limit"));
      range->set_serializable(consistency == "s");
      return size_t{0};
    }
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(VarintKey(i % f("key-space-size"), f("key-size")));
    put->set_value(value);
    return size_t{1};
  };
  Report read("txn-mixed-read"), write("txn-mixed-write");
  engine.SetRate(f("rate"));
  RunUnary(engine, f("total"), &KV::Stub::PrepareAsyncTxn, fill, {&read, &write});
  const size_t reads = read.successes() + read.errors(), writes = write.successes() + write.errors();
  return PrintReports(options, {&read, &write},
                      {"Total Read Ops: " + std::to_string(reads) + "\nDetails:",
                       "Total Write Ops: " + std::to_string(writes) + "\nDetails:"});
}

}  // namespace

std::vector<Command> UnaryCommands() {
  return {
      {"put", "put", "Benchmark put",
       [](Flags& flags) {
         DefineKeyFlags(flags, "put");
         flags.Define("sequential-keys", "false", "Use sequential keys", Flags::Kind::kBool);
       },
       RunPut},
      {"range", "range key [end-range]", "Benchmark range",
       [](Flags& flags) {
         flags.Define("rate", "0", "Maximum range requests per second (0 is no limit)");
         flags.Define("total", "10000", "Total number of range requests");
         flags.Define("consistency", "l", "Linearizable(l) or Serializable(s)");
       },
       RunRange},
      {"txn-put", "txn-put", "Benchmark txn-put",
       [](Flags& flags) {
         DefineKeyFlags(flags, "txn put");
         flags.Define("txn-ops", "1", "Number of puts per txn");
       },
       RunTxnPut},
      {"txn-mixed", "txn-mixed", "Benchmark a mixed load of txn-put & txn-range.",
       [](Flags& flags) {
         DefineKeyFlags(flags, "mixed txn");
         flags.Define("end-key", "", "Read operation range end key. By default, we do full range query with the default limit of 1000.");
         flags.Define("limit", "1000", "Read operation range result limit");
         flags.Define("consistency", "l", "Linearizable(l) or Serializable(s)");
         flags.Define("rw-ratio", "1", "Read/write ops ratio", Flags::Kind::kFloat);
       },
       RunTxnMixed},
  };
}

}  // namespace etcpp::bench
