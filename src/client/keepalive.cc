#include "client/keepalive.h"

#include "client/errors.h"

namespace etcpp::client {

using base::Status;

std::unique_ptr<LeaseKeeper> LeaseKeeper::Start(Client& client, int64_t lease_id,
                                                Handler handler, std::chrono::milliseconds period) {
  std::unique_ptr<LeaseKeeper> keeper(new LeaseKeeper(client, lease_id, std::move(handler), period));
  keeper->thread_ = std::thread([k = keeper.get()] { k->Run(); });
  return keeper;
}

LeaseKeeper::LeaseKeeper(Client& client, int64_t lease_id, Handler handler,
                         std::chrono::milliseconds period)
    : client_(client), lease_id_(lease_id), handler_(std::move(handler)), period_(period) {}

LeaseKeeper::~LeaseKeeper() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (active_ != nullptr) active_->TryCancel();
  cv_.notify_all();
}

Status LeaseKeeper::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return ended_; });
  return result_;
}

bool LeaseKeeper::Finished() {
  std::lock_guard lock(mu_);
  return ended_;
}

bool LeaseKeeper::SleepUnlessStopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, duration, [&] { return stopped_; });
}

void LeaseKeeper::Run() {
  while (!RunStream()) {
    if (SleepUnlessStopped(std::chrono::milliseconds(100))) break;
  }
  std::lock_guard lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

bool LeaseKeeper::RunStream() {
  grpc::ClientContext context;
  auto endpoint = client_.PrepareStream(context, Client::Clock::now() + client_.config().dial_timeout);
  if (!endpoint.ok()) return false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return true;
    active_ = &context;
  }
  auto stream = (*endpoint)->lease->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id_);
  etcdserverpb::LeaseKeepAliveResponse response;
  bool done = false;
  while (!done && stream->Write(request) && stream->Read(&response)) {
    if (response.ttl() <= 0) {
      std::lock_guard lock(mu_);
      result_ = Status(base::Code::kNotFound, "etcdserver: requested lease not found");
      done = true;
      break;
    }
    if (handler_) handler_(response);
    // A third of the TTL leaves two more tries before the lease would expire.
    const auto interval = period_.count() > 0
                              ? period_
                              : std::max(std::chrono::milliseconds(response.ttl() * 1000 / 3),
                                         std::chrono::milliseconds(500));
    done = SleepUnlessStopped(interval);
  }
  context.TryCancel();
  const grpc::Status status = stream->Finish();  // cancelled by us or broken: the loop decides
  // An expired token is renewed before the stream is opened again.
  if (status.error_message() == kErrInvalidAuthToken) (void)client_.RefreshToken();
  std::lock_guard lock(mu_);
  active_ = nullptr;
  if (!done && !stopped_) client_.ReportFailure(*endpoint);
  return done || stopped_;
}

}  // namespace etcpp::client
