#include "tests/chaos/workload.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcpp::chaos {

namespace {

std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint) {
  grpc::ChannelArguments args;
  // gRPC's default reconnect backoff grows to minutes; a restarted member must be found
  // again within the run, not after it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

// A write error that proves the server refused the request before proposing it; any
// other error leaves the write's fate unknown.
Outcome WriteFailure(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return Outcome::kFailed;
    default:
      return Outcome::kUnknown;
  }
}

// One client's view of the KV service: each call fills in op's answer and outcome.
class KvCaller {
 public:
  KvCaller(std::shared_ptr<grpc::Channel> channel, int64_t deadline_ms, bool serializable)
      : channel_(std::move(channel)),
        kv_(etcdserverpb::KV::NewStub(channel_)),
        deadline_ms_(deadline_ms),
        serializable_(serializable) {}

  void Execute(Operation& op) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms_));
    switch (op.kind) {
      case OpKind::kGet:
      case OpKind::kRangeCount:
        return Read(context, op);
      case OpKind::kPut: {
        etcdserverpb::PutRequest request;
        request.set_key(op.key);
        request.set_value(op.value);
        etcdserverpb::PutResponse response;
        grpc::Status status = kv_->Put(&context, request, &response);
        op.outcome = status.ok() ? Outcome::kOk : WriteFailure(status);
        op.revision = response.header().revision();
        return;
      }
      case OpKind::kDelete: {
        etcdserverpb::DeleteRangeRequest request;
        request.set_key(op.key);
        etcdserverpb::DeleteRangeResponse response;
        grpc::Status status = kv_->DeleteRange(&context, request, &response);
        op.outcome = status.ok() ? Outcome::kOk : WriteFailure(status);
        op.deleted = response.deleted();
        return;
      }
      case OpKind::kCas:
        return Cas(context, op);
    }
  }

  // After an error, waits (bounded) for the connection to come back, so a member that is
  // down costs each client one unknown write rather than hundreds.
  void AwaitConnection() {
    channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

 private:
  void Read(grpc::ClientContext& context, Operation& op) {
    etcdserverpb::RangeRequest request;
    request.set_key(op.key);
    request.set_range_end(op.range_end);
    request.set_count_only(op.kind == OpKind::kRangeCount);
    request.set_serializable(serializable_);
    etcdserverpb::RangeResponse response;
    grpc::Status status = kv_->Range(&context, request, &response);
    op.outcome = status.ok() ? Outcome::kOk : Outcome::kFailed;
    op.count = response.count();
    op.found = response.kvs_size() > 0;
    if (op.found) {
      op.result_value = response.kvs(0).value();
      op.mod_revision = response.kvs(0).mod_revision();
    }
  }

  void Cas(grpc::ClientContext& context, Operation& op) {
    etcdserverpb::TxnRequest request;
    etcdserverpb::Compare* compare = request.add_compare();
    compare->set_key(op.key);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    if (op.compare_target == CompareTarget::kValue) {
      compare->set_target(etcdserverpb::Compare::VALUE);
      compare->set_value(op.compare_value);
    } else {
      compare->set_target(etcdserverpb::Compare::MOD);
      compare->set_mod_revision(op.compare_mod_revision);
    }
    etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
    put->set_key(op.key);
    put->set_value(op.value);
    etcdserverpb::TxnResponse response;
    grpc::Status status = kv_->Txn(&context, request, &response);
    op.outcome = status.ok() ? Outcome::kOk : WriteFailure(status);
    op.succeeded = response.succeeded();
    op.revision = response.succeeded() ? response.header().revision() : 0;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  int64_t deadline_ms_;
  bool serializable_;
};

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Workload::Workload(std::vector<std::string> endpoints, WorkloadOptions options)
    : endpoints_(std::move(endpoints)), options_(std::move(options)) {}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  for (int i = 0; i < options_.clients; ++i) threads_.emplace_back([this, i] { Client(i); });
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::string Workload::Key(int i) const { return options_.prefix + "k" + std::to_string(i); }

// The prefix's range end: its last byte plus one, as etcdctl's --prefix computes it.
std::string Workload::CountEnd() const {
  std::string end = options_.prefix;
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

void Workload::Record(const Operation& op) {
  std::lock_guard lock(mu_);
  history_.push_back(op);
}

History Workload::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

Operation Workload::Choose(int client, int n, std::mt19937_64& random,
                           const std::map<std::string, Seen>& seen) const {
  Operation op;
  op.client = client;
  op.key = Key(static_cast<int>(random() % options_.keys));
  op.value = "c" + std::to_string(client) + "-" + std::to_string(n);
  int dice = static_cast<int>(random() % 20);
  if (dice < 7) {
    op.kind = OpKind::kGet;
  } else if (dice < 12) {
    op.kind = OpKind::kPut;
  } else if (dice < 14) {
    op.kind = OpKind::kDelete;
  } else if (dice < 18) {
    op.kind = OpKind::kCas;
    auto it = seen.find(op.key);
    Seen last = it == seen.end() ? Seen{} : it->second;
    // On value when there is one to compare with, else on mod_revision (0: create).
    op.compare_target = last.mod_revision > 0 && random() % 2 ? CompareTarget::kValue
                                                               : CompareTarget::kModRevision;
    op.compare_value = last.value;
    op.compare_mod_revision = last.mod_revision;
  } else {
    op.kind = OpKind::kRangeCount;
    op.key = options_.prefix;
    op.range_end = CountEnd();
  }
  return op;
}

// The planted bug: answers a read from the first answer ever seen for its key.
bool Workload::ServePlanted(Operation& op, std::mt19937_64& random) {
  if (!options_.plant_stale_read || op.kind != OpKind::kGet || random() % 10 != 0) return false;
  std::lock_guard lock(mu_);
  auto it = first_read_.find(op.key);
  if (it == first_read_.end()) return false;
  op.outcome = Outcome::kOk;
  op.found = it->second.found;
  op.result_value = it->second.result_value;
  op.mod_revision = it->second.mod_revision;
  ++planted_reads_;
  return true;
}

void Workload::Client(int id) {
  std::mt19937_64 random(options_.seed * 1000 + static_cast<uint64_t>(id));
  // A client of a cluster fails over as etcd's clients do: after an error it moves on to
  // the next member (a dead, paused or partitioned member would fail it again).
  std::vector<std::unique_ptr<KvCaller>> callers;
  for (const auto& endpoint : endpoints_)
    callers.push_back(std::make_unique<KvCaller>(Connect(endpoint), options_.deadline_ms, options_.serializable_reads));
  size_t current = static_cast<size_t>(id) % callers.size();
  std::map<std::string, Seen> seen;
  for (int n = 0; !stop_.load(); ++n) {
    Operation op = Choose(id, n, random, seen);
    op.invoke_ns = NowNs();
    if (!ServePlanted(op, random)) callers[current]->Execute(op);
    op.complete_ns = NowNs();
    Record(op);
    if (op.outcome != Outcome::kOk) {
      current = (current + 1) % callers.size();
      callers[current]->AwaitConnection();
      continue;
    }
    if (op.kind == OpKind::kGet) {
      seen[op.key] = op.found ? Seen{op.result_value, op.mod_revision} : Seen{};
      std::lock_guard lock(mu_);
      first_read_.emplace(op.key, op);
    } else if (op.kind == OpKind::kPut || (op.kind == OpKind::kCas && op.succeeded)) {
      seen[op.key] = Seen{op.value, op.revision};
    } else if (op.kind == OpKind::kDelete) {
      seen[op.key] = Seen{};
    }
  }
}

void Workload::FinalReads() {
  KvCaller caller(Connect(endpoints_[0]), 5000, false);
  for (int k = 0; k < options_.keys; ++k) {
    Operation op;
    op.client = options_.clients;
    op.kind = OpKind::kGet;
    op.key = Key(k);
    op.invoke_ns = NowNs();
    caller.Execute(op);
    op.complete_ns = NowNs();
    Record(op);
  }
}

}  // namespace etcpp::chaos
