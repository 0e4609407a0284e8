#include "api/services.h"

#include "api/errors.h"

namespace etcpp::api {
namespace {

// Starts an asynchronous server call whose answer finishes the RPC. `response` lives
// until Finish, so the answer may be written into it from the server's thread.
template <typename Response, typename Call>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Response* response,
                                Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  call([reactor, response](base::Result<Response> result) {
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    *response = std::move(result.value());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  return Serve(context, response, [&](auto done) { server_->Range(*request, std::move(done)); });
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  return Serve(context, response, [&](auto done) { server_->Put(*request, std::move(done)); });
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  return Serve(context, response,
               [&](auto done) { server_->DeleteRange(*request, std::move(done)); });
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  return Serve(context, response, [&](auto done) { server_->Txn(*request, std::move(done)); });
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  return Serve(context, response, [&](auto done) { server_->Compact(*request, std::move(done)); });
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* response) {
  *response = server_->Status();
  return Answer(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  return Serve(context, response,
               [&](auto done) { server_->HashKV(request->revision(), std::move(done)); });
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* response) {
  return Serve(context, response, [&](auto done) { server_->Defragment(std::move(done)); });
}

// No alarm is ever raised yet (quota and corruption checks come with the alarm work),
// so GET answers an empty list and DEACTIVATE has nothing to disarm, as in etcd when no
// alarm is active.
grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  if (request->action() == etcdserverpb::AlarmRequest::ACTIVATE) {
    return Answer(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                        "etcpp: raising or disarming alarms is not supported yet"));
  }
  *response->mutable_header() = server_->Header();
  return Answer(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  *response->mutable_header() = server_->Header();
  for (const auto& m : server_->Members()) {
    auto* out = response->add_members();
    out->set_id(m.id());
    out->set_name(m.name());
    *out->mutable_peerurls() = m.peer_urls();
    *out->mutable_clienturls() = m.client_urls();
    out->set_islearner(m.is_learner());
  }
  return Answer(context, grpc::Status::OK);
}

}  // namespace etcpp::api
