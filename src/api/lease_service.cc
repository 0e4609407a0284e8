#include "api/lease_service.h"

#include "api/errors.h"

namespace etcpp::api {
namespace {

constexpr const char* kLease = "etcdserverpb.Lease";

// Runs one unary server call and finishes the RPC with its answer. `response` lives
// until Finish, so the answer may be written into it from the server's thread.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* Serve(server::EtcdServer* server, const char* method,
                                grpc::CallbackServerContext* context, const Request* request,
                                Response* response,
                                void (server::EtcdServer::*call)(Request, server::Done<Response>)) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  (server->*call)(*request, [server, method, reactor, response](base::Result<Response> result) {
    grpc::Status status = result.ok() ? grpc::Status::OK : ToGrpcStatus(result.status());
    if (result.ok()) *response = std::move(result.value());
    server->metrics().GrpcHandled(kLease, method, GrpcCodeName(status.error_code()), false);
    reactor->Finish(std::move(status));
  });
  return reactor;
}

// One keep-alive stream: read a request, renew, write the answer, read the next. Only
// one operation is ever in flight, so the reactor needs no lock; it deletes itself in
// OnDone, which gRPC calls after the last callback.
class KeepAliveReactor final
    : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                     etcdserverpb::LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(server::EtcdServer* server) : server_(server) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client closed its side
    server_->LeaseKeepAlive(request_, [this](base::Result<etcdserverpb::LeaseKeepAliveResponse> result) {
      if (!result.ok()) return Finish(ToGrpcStatus(result.status()));
      response_ = std::move(result.value());
      StartWrite(&response_);
    });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed"));
    StartRead(&request_);
  }
  void OnDone() override {
    server_->metrics().GrpcHandled(kLease, "LeaseKeepAlive", "OK", true);
    delete this;
  }

 private:
  server::EtcdServer* server_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  etcdserverpb::LeaseKeepAliveResponse response_;
};

}  // namespace

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::LeaseGrantRequest* request,
                                                   etcdserverpb::LeaseGrantResponse* response) {
  return Serve(server_, "LeaseGrant", context, request, response, &server::EtcdServer::LeaseGrant);
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseRevokeRequest* request,
                                                    etcdserverpb::LeaseRevokeResponse* response) {
  return Serve(server_, "LeaseRevoke", context, request, response, &server::EtcdServer::LeaseRevoke);
}

grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext*) {
  return new KeepAliveReactor(server_);
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(grpc::CallbackServerContext* context,
                                                        const etcdserverpb::LeaseTimeToLiveRequest* request,
                                                        etcdserverpb::LeaseTimeToLiveResponse* response) {
  return Serve(server_, "LeaseTimeToLive", context, request, response,
               &server::EtcdServer::LeaseTimeToLive);
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseLeasesRequest* request,
                                                    etcdserverpb::LeaseLeasesResponse* response) {
  return Serve(server_, "LeaseLeases", context, request, response, &server::EtcdServer::LeaseLeases);
}

}  // namespace etcpp::api
