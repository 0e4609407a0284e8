#include "client/watch.h"

#include "client/errors.h"

namespace etcpp::client {

using base::Status;

std::unique_ptr<Watcher> Watcher::Start(Client& client, etcdserverpb::WatchCreateRequest request,
                                        Handler handler) {
  std::unique_ptr<Watcher> watcher(new Watcher(client, std::move(request), std::move(handler)));
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  return watcher;
}

Watcher::Watcher(Client& client, etcdserverpb::WatchCreateRequest request, Handler handler)
    : client_(client), request_(std::move(request)), handler_(std::move(handler)) {
  next_revision_ = request_.start_revision();
}

Watcher::~Watcher() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void Watcher::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (active_ != nullptr) active_->TryCancel();
}

Status Watcher::Wait() {
  std::unique_lock lock(mu_);
  ended_cv_.wait(lock, [&] { return ended_; });
  return result_;
}

int64_t Watcher::next_revision() const {
  std::lock_guard lock(mu_);
  return next_revision_;
}

void Watcher::Run() {
  Status result;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) break;
    }
    bool finished = false;
    result = RunStream(finished);
    if (finished) break;
    // The stream broke; give the member a moment before dialing again.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard lock(mu_);
  result_ = stopped_ ? Status::Ok() : result;
  ended_ = true;
  ended_cv_.notify_all();
}

Status Watcher::RunStream(bool& finished) {
  grpc::ClientContext context;
  auto endpoint = client_.PrepareStream(context, Client::Clock::now() + client_.config().dial_timeout);
  if (!endpoint.ok()) return Status::Ok();  // nothing reachable yet: try again
  etcdserverpb::WatchRequest create;
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      finished = true;
      return Status::Ok();
    }
    active_ = &context;
    *create.mutable_create_request() = request_;
    create.mutable_create_request()->set_start_revision(next_revision_);
  }
  auto stream = (*endpoint)->watch->Watch(&context);
  etcdserverpb::WatchResponse response;
  Status ended;
  if (stream->Write(create)) {
    while (stream->Read(&response)) {
      if (response.canceled() && response.cancel_reason().find(kErrInvalidAuthToken) != std::string::npos &&
          !token_renewed_ && !client_.config().username.empty()) {
        // etcd cancels the create of a watch whose token has expired ("rpc error: code =
        // Unauthenticated desc = etcdserver: invalid auth token"); renew the token once and
        // create the watch again. A second refusal is a real one.
        token_renewed_ = true;
        context.TryCancel();
        (void)stream->Finish();
        (void)client_.RefreshToken();  // if it fails, the next attempt reports why
        std::lock_guard lock(mu_);
        active_ = nullptr;
        return Status::Ok();
      }
      if (response.canceled()) {
        // The server ended the watch: a compacted start revision or a permission error.
        finished = true;
        ended = Status(base::Code::kOutOfRange, response.cancel_reason().empty()
                                                    ? "etcdserver: mvcc: required revision has been compacted"
                                                    : response.cancel_reason());
        context.TryCancel();
        break;
      }
      {
        std::lock_guard lock(mu_);
        if (response.created()) token_renewed_ = false;
        if (response.created() && next_revision_ == 0)
          next_revision_ = response.header().revision() + 1;
        if (response.events_size() > 0)
          next_revision_ = response.events(response.events_size() - 1).kv().mod_revision() + 1;
      }
      if (!response.created()) handler_(response);
    }
  }
  const grpc::Status status = stream->Finish();
  // An expired token is renewed and the watch created again, like a broken connection.
  const bool token_expired = status.error_message() == kErrInvalidAuthToken && client_.RefreshToken().ok();
  std::lock_guard lock(mu_);
  active_ = nullptr;
  if (stopped_) finished = true;
  if (!finished && !token_expired) client_.ReportFailure(*endpoint);
  if (!finished && !token_expired && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
      status.error_code() != grpc::StatusCode::CANCELLED && !status.ok()) {
    // Not a broken connection (e.g. permission denied): retrying would not help.
    finished = true;
    ended = FromGrpc(status);
  }
  return ended;
}

}  // namespace etcpp::client
