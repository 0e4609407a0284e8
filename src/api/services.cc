#include "api/services.h"

#include "api/errors.h"

namespace etcpp::api {
namespace {

// grpc-go's names of the codes, which grpc_server_handled_total's labels use.
const char* CodeName(grpc::StatusCode code) {
  static const char* const names[] = {
      "OK",          "Canceled",          "Unknown",        "InvalidArgument", "DeadlineExceeded",
      "NotFound",    "AlreadyExists",     "PermissionDenied", "ResourceExhausted",
      "FailedPrecondition", "Aborted",    "OutOfRange",     "Unimplemented",   "Internal",
      "Unavailable", "DataLoss",          "Unauthenticated"};
  int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(names)) ? names[i] : "Unknown";
}

// One unary call: finishes the reactor and counts it in the metrics.
class Call {
 public:
  Call(server::EtcdServer* server, const char* service, const char* method,
       grpc::CallbackServerContext* context)
      : server_(server), service_(service), method_(method), reactor_(context->DefaultReactor()) {}

  grpc::ServerUnaryReactor* Finish(grpc::Status status) const {
    server_->metrics().GrpcHandled(service_, method_, CodeName(status.error_code()), false);
    reactor_->Finish(std::move(status));
    return reactor_;
  }

  // Starts an asynchronous server call whose answer finishes the RPC. `response` lives
  // until Finish, so the answer may be written into it from the server's thread.
  template <typename Response, typename Start>
  grpc::ServerUnaryReactor* Serve(Response* response, Start start) const {
    start([call = *this, response](base::Result<Response> result) {
      if (!result.ok()) return (void)call.Finish(ToGrpcStatus(result.status()));
      *response = std::move(result.value());
      call.Finish(grpc::Status::OK);
    });
    return reactor_;
  }

 private:
  server::EtcdServer* server_;
  const char* service_;
  const char* method_;
  grpc::ServerUnaryReactor* reactor_;
};

constexpr const char* kKV = "etcdserverpb.KV";
constexpr const char* kMaintenance = "etcdserverpb.Maintenance";
constexpr const char* kCluster = "etcdserverpb.Cluster";

}  // namespace

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  return Call(server_, kKV, "Range", context).Serve(response, [&](auto done) {
    server_->Range(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  return Call(server_, kKV, "Put", context).Serve(response, [&](auto done) {
    server_->Put(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  return Call(server_, kKV, "DeleteRange", context).Serve(response, [&](auto done) {
    server_->DeleteRange(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  return Call(server_, kKV, "Txn", context).Serve(response, [&](auto done) {
    server_->Txn(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  return Call(server_, kKV, "Compact", context).Serve(response, [&](auto done) {
    server_->Compact(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* response) {
  *response = server_->Status();
  return Call(server_, kMaintenance, "Status", context).Finish(grpc::Status::OK);
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  return Call(server_, kMaintenance, "HashKV", context).Serve(response, [&](auto done) {
    server_->HashKV(request->revision(), std::move(done));
  });
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* response) {
  return Call(server_, kMaintenance, "Defragment", context).Serve(response, [&](auto done) {
    server_->Defragment(std::move(done));
  });
}

// No alarm is ever raised yet (quota and corruption checks come with the alarm work),
// so GET answers an empty list and DEACTIVATE has nothing to disarm, as in etcd when no
// alarm is active.
grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  Call call(server_, kMaintenance, "Alarm", context);
  if (request->action() == etcdserverpb::AlarmRequest::ACTIVATE) {
    return call.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                    "etcpp: raising alarms is not supported yet"));
  }
  *response->mutable_header() = server_->Header();
  return call.Finish(grpc::Status::OK);
}

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::MoveLeaderRequest* request,
                                                         etcdserverpb::MoveLeaderResponse* response) {
  return Call(server_, kMaintenance, "MoveLeader", context).Serve(response, [&](auto done) {
    server_->MoveLeader(request->targetid(), std::move(done));
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest* request,
                                                    etcdserverpb::MemberAddResponse* response) {
  return Call(server_, kCluster, "MemberAdd", context).Serve(response, [&](auto done) {
    server_->MemberAdd(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberRemoveRequest* request,
                                                       etcdserverpb::MemberRemoveResponse* response) {
  return Call(server_, kCluster, "MemberRemove", context).Serve(response, [&](auto done) {
    server_->MemberRemove(request->id(), std::move(done));
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberUpdateRequest* request,
                                                       etcdserverpb::MemberUpdateResponse* response) {
  return Call(server_, kCluster, "MemberUpdate", context).Serve(response, [&](auto done) {
    server_->MemberUpdate(*request, std::move(done));
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest* request,
                                                     etcdserverpb::MemberListResponse* response) {
  return Call(server_, kCluster, "MemberList", context).Serve(response, [&](auto done) {
    server_->MemberList(request->linearizable(), std::move(done));
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(grpc::CallbackServerContext* context,
                                                        const etcdserverpb::MemberPromoteRequest* request,
                                                        etcdserverpb::MemberPromoteResponse* response) {
  return Call(server_, kCluster, "MemberPromote", context).Serve(response, [&](auto done) {
    server_->MemberPromote(request->id(), std::move(done));
  });
}

}  // namespace etcpp::api
