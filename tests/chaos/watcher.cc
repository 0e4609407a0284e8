#include "tests/chaos/watcher.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcpp::chaos {

namespace {

std::string RangeEnd(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

WatchResponse Convert(const etcdserverpb::WatchResponse& response) {
  WatchResponse out;
  for (const auto& e : response.events()) {
    bool put = e.type() == mvccpb::Event::PUT;
    out.events.push_back({put ? WatchEvent::Type::kPut : WatchEvent::Type::kDelete, e.kv().key(),
                          put ? e.kv().value() : "", e.kv().mod_revision()});
  }
  return out;
}

}  // namespace

Watcher::Watcher(std::vector<std::string> endpoints, std::string prefix, int64_t start_revision)
    : endpoints_(std::move(endpoints)), prefix_(std::move(prefix)), next_(start_revision) {}

Watcher::~Watcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Watcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Watcher::Stop(int64_t until, int wait_s) {
  until_ = until;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  while (std::chrono::steady_clock::now() < deadline && !stop_.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Watcher::Run() {
  for (size_t member = 0; !stop_.load(); member = (member + 1) % endpoints_.size()) {
    Follow(endpoints_[member], 3);
    int64_t until = until_.load();
    if (until > 0 && next_ > until) stop_ = true;
  }
}

void Watcher::Follow(const std::string& endpoint, int stall_s) {
  auto watch = etcdserverpb::Watch::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = watch->Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(prefix_);
  create->set_range_end(RangeEnd(prefix_));
  create->set_start_revision(next_);
  WatchSession session{next_, {}};
  // Reads on a thread of their own, so a silent stream can be cut from here.
  std::atomic<int64_t> last_response_ns{std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<bool> ended{false};
  std::thread reader([&] {
    if (!stream->Write(request)) {
      ended = true;
      return;
    }
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
      last_response_ns = std::chrono::steady_clock::now().time_since_epoch().count();
      if (response.canceled()) break;
      if (response.created() && session.start_revision == 0) {
        session.start_revision = next_ = response.header().revision() + 1;
      }
      if (response.events_size() == 0) continue;  // "created", or progress
      session.responses.push_back(Convert(response));
      next_ = session.responses.back().events.back().revision + 1;
    }
    ended = true;
  });
  while (!ended.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t silent_ns = std::chrono::steady_clock::now().time_since_epoch().count() - last_response_ns.load();
    int64_t until = until_.load();
    bool done = stop_.load() || (until > 0 && next_ > until);
    if (done || silent_ns > int64_t{stall_s} * 1'000'000'000) context.TryCancel();
  }
  reader.join();
  (void)stream->Finish();  // cut on purpose or by a fault: either way the next session resumes
  // A stream from now that was never created watched nothing: the next one starts anew.
  if (session.start_revision != 0) sessions_.push_back(std::move(session));
}

bool Reference(const std::string& endpoint, const std::string& prefix, int64_t until,
               std::vector<WatchEvent>& out) {
  auto watch = etcdserverpb::Watch::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = watch->Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(prefix);
  create->set_range_end(RangeEnd(prefix));
  create->set_start_revision(1);
  if (!stream->Write(request)) return false;
  etcdserverpb::WatchResponse response;
  while ((out.empty() || out.back().revision < until) && stream->Read(&response)) {
    for (auto& event : Convert(response).events) out.push_back(std::move(event));
  }
  context.TryCancel();
  (void)stream->Finish();
  return !out.empty() && out.back().revision >= until;
}

std::vector<std::string> Crosscheck(const std::vector<WatchEvent>& reference, const History& history) {
  std::map<int64_t, std::vector<const WatchEvent*>> at;
  for (const auto& e : reference) at[e.revision].push_back(&e);
  std::vector<std::string> problems;
  int64_t origin = history.empty() ? 0 : history.front().invoke_ns;
  for (const auto& op : history) origin = std::min(origin, op.invoke_ns);
  for (const auto& op : history) {
    bool wrote = op.outcome == Outcome::kOk &&
                 (op.kind == OpKind::kPut || (op.kind == OpKind::kCas && op.succeeded));
    if (!wrote) continue;
    bool found = false;
    for (const WatchEvent* e : at[op.revision])
      found = found || (e->type == WatchEvent::Type::kPut && e->key == op.key && e->value == op.value);
    if (!found) {
      problems.push_back("acknowledged write missing from the watch history: " + Format(op, origin));
      if (problems.size() >= 5) break;
    }
  }
  return problems;
}

}  // namespace etcpp::chaos
