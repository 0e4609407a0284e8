// put, range, txn-put and txn-mixed: --clients simulated clients, each with one unary
// request in flight at a time, until --total requests have been sent.
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpcpp/impl/codegen/completion_queue_tag.h>
#include <grpcpp/impl/codegen/slice.h>

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

// The path of a KV method, as gRPC sends it: "/etcdserverpb.KV/Range".
std::string KvMethod(const char* name) { return std::string("/") + KV::service_full_name() + "/" + name; }

// The requests of a workload, handed out in order to whichever client is free.
struct Feed {
  int64_t next = 0;
  int64_t total = 0;
};

// One simulated client: sends, waits for the answer, records it, sends the next.
//
// Each request is one call through gRPC's C core: one batch of all six operations of a
// unary call on the engine's queue. gRPC's C++ async API takes two batches, a
// ClientContext and more allocations per call, which made the tool itself the limit
// against a fast server (docs/PERFORMANCE.md, "etcpp-bench"). The completion comes back
// through the C++ queue, which hands it to FinalizeResult as it does for its own calls.
template <typename Request, typename Response>
class UnaryClient : public Tag, public grpc::internal::CompletionQueueTag {
 public:
  UnaryClient(Engine& engine, int index, Feed& feed, const std::string& method, const Fill<Request>& fill,
              const std::vector<Report*>& reports)
      : engine_(engine), index_(index), feed_(feed), method_(method), fill_(fill), reports_(reports) {
    grpc_metadata_array_init(&initial_metadata_);
    grpc_metadata_array_init(&trailing_metadata_);
  }
  ~UnaryClient() override {
    grpc_metadata_array_destroy(&initial_metadata_);
    grpc_metadata_array_destroy(&trailing_metadata_);
  }

  void Start() {
    engine_.Hold();
    Next();
  }

  bool FinalizeResult(void** tag, bool*) override {
    *tag = static_cast<Tag*>(this);
    return true;
  }

  void Proceed(bool) override {
    if (state_ == State::kWaiting) return Send();
    const auto now = Clock::now();
    Report& report = *reports_[report_];
    if (status_ != GRPC_STATUS_OK) {
      report.AddError(
          ErrorText(grpc::Status(static_cast<grpc::StatusCode>(status_), grpc::StringFromCopiedSlice(details_))));
    } else if (!ParseResponse()) {  // as grpc-go reports an answer it cannot decode
      report.AddError(
          ErrorText(grpc::Status(grpc::StatusCode::INTERNAL, "grpc: failed to unmarshal the received message")));
    } else {
      report.Add(now - sent_);
    }
    report.End(now);
    grpc_slice_unref(details_);
    if (response_buffer_ != nullptr) grpc_byte_buffer_destroy(response_buffer_);
    response_buffer_ = nullptr;
    grpc_call_unref(call_);
    call_ = nullptr;
    // The arrays keep their storage for the next call; their entries belonged to the call.
    initial_metadata_.count = trailing_metadata_.count = 0;
    Next();
  }

 private:
  enum class State { kWaiting, kInFlight };

  void Next() {
    if (feed_.next >= feed_.total) return engine_.Release();
    report_ = fill_(feed_.next++, request_);
    if (engine_.limited()) {
      const auto start = engine_.Reserve();
      if (start > Clock::now()) {
        state_ = State::kWaiting;
        return WakeAt(engine_, alarm_, start, this);
      }
    }
    Send();
  }

  void Send() {
    state_ = State::kInFlight;
    reports_[report_]->Begin();
    auto endpoint = engine_.PrepareCall(index_, token_);
    if (!endpoint.ok()) {
      reports_[report_]->AddError(endpoint.status().message());
      return Next();
    }
    if (*endpoint != endpoint_) {
      endpoint_ = *endpoint;
      channel_ = CoreChannel(*endpoint_);
      registered_method_ = grpc_channel_register_call(channel_, method_.c_str(), nullptr, nullptr);
    }
    call_ = grpc_channel_create_registered_call(channel_, nullptr, GRPC_PROPAGATE_DEFAULTS, engine_.queue()->cq(),
                                                registered_method_, gpr_inf_future(GPR_CLOCK_MONOTONIC), nullptr);
    grpc_slice payload = grpc_slice_malloc(request_.ByteSizeLong());
    request_.SerializeWithCachedSizesToArray(GRPC_SLICE_START_PTR(payload));
    grpc_byte_buffer* message = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);

    grpc_op ops[6] = {};
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (!token_.empty()) {
      // token_ stays unchanged until the call completes, as the metadata must.
      token_metadata_.key = grpc_slice_from_static_string("token");
      token_metadata_.value = grpc_slice_from_static_buffer(token_.data(), token_.size());
      ops[0].data.send_initial_metadata.count = 1;
      ops[0].data.send_initial_metadata.metadata = &token_metadata_;
    }
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = message;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_metadata_;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &response_buffer_;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_metadata_;
    ops[5].data.recv_status_on_client.status = &status_;
    ops[5].data.recv_status_on_client.status_details = &details_;
    sent_ = Clock::now();
    const grpc_call_error error =
        grpc_call_start_batch(call_, ops, std::size(ops), static_cast<grpc::internal::CompletionQueueTag*>(this), nullptr);
    grpc_byte_buffer_destroy(message);
    if (error != GRPC_CALL_OK) {  // a bug here, not a failure of the server: nothing was sent
      grpc_call_unref(call_);
      call_ = nullptr;
      reports_[report_]->AddError("grpc_call_start_batch failed: " + std::to_string(error));
      return Next();
    }
  }

  bool ParseResponse() {
    if (response_buffer_ == nullptr) return false;
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, response_buffer_)) return false;
    grpc_slice bytes = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    const bool ok = response_.ParseFromArray(GRPC_SLICE_START_PTR(bytes), static_cast<int>(GRPC_SLICE_LENGTH(bytes)));
    grpc_slice_unref(bytes);
    return ok;
  }

  Engine& engine_;
  const int index_;
  Feed& feed_;
  const std::string& method_;
  const Fill<Request>& fill_;
  const std::vector<Report*>& reports_;

  State state_ = State::kWaiting;
  grpc::Alarm alarm_;
  Request request_;
  size_t report_ = 0;
  Clock::time_point sent_;

  client::Endpoint* endpoint_ = nullptr;  // the endpoint channel_ and registered_method_ belong to
  grpc_channel* channel_ = nullptr;
  void* registered_method_ = nullptr;
  std::string token_;
  grpc_metadata token_metadata_{};

  grpc_call* call_ = nullptr;
  grpc_metadata_array initial_metadata_, trailing_metadata_;
  grpc_byte_buffer* response_buffer_ = nullptr;
  grpc_status_code status_ = GRPC_STATUS_OK;
  grpc_slice details_{};
  Response response_;
};

template <typename Request, typename Response>
void RunUnary(Engine& engine, int64_t total, const char* method, const Fill<Request>& fill,
              const std::vector<Report*>& reports) {
  Feed feed{0, total};
  const std::string path = KvMethod(method);
  std::vector<std::unique_ptr<UnaryClient<Request, Response>>> clients;
  for (int i = 0; i < engine.clients(); ++i)
    clients.push_back(std::make_unique<UnaryClient<Request, Response>>(engine, i, feed, path, fill, reports));
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
  RunUnary<etcdserverpb::PutRequest, etcdserverpb::PutResponse>(engine, f("total"), "Put", fill, {&report});
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
  RunUnary<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(engine, f("total"), "Range", fill, {&report});
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
  RunUnary<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(engine, f("total"), "Txn", fill, {&report});
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
  RunUnary<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(engine, f("total"), "Txn", fill, {&read, &write});
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
