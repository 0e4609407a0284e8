#include "api/services.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "api/errors.h"

namespace etcpp::api {
namespace {

// One unary call: finishes the reactor and counts it in the metrics.
class Call {
 public:
  Call(server::EtcdServer* server, const char* service, const char* method,
       grpc::CallbackServerContext* context)
      : server_(server), service_(service), method_(method), reactor_(context->DefaultReactor()) {}

  grpc::ServerUnaryReactor* Finish(grpc::Status status) const {
    server_->metrics().GrpcHandled(service_, method_, GrpcCodeName(status.error_code()), false);
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
  return Call(server_, kMaintenance, "Alarm", context).Serve(response, [&](auto done) {
    server_->Alarm(*request, std::move(done));
  });
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

namespace {

// Maintenance.Snapshot as etcd streams it: the backend copy in 32 KiB chunks, each with
// the bytes still to come, then one message whose blob is the SHA-256 of all of them.
// etcdctl refuses a saved file without that trailer (size % 512 == 32) and checks it
// on restore. Deletes itself when gRPC is done with it; it never finishes from
// OnCancel, so the pending backend copy always finds it alive (a cancelled stream ends
// at its next write instead).
class SnapshotStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  explicit SnapshotStream(server::EtcdServer* server)
      : server_(server), sha256_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(sha256_.get(), EVP_sha256(), nullptr);
    server_->SnapshotBackend([this](base::Result<std::shared_ptr<server::EtcdServer::BackendCopy>> copy) {
      if (!copy.ok()) return End(ToGrpcStatus(copy.status()));
      copy_ = std::move(*copy);
      SendNext();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"));
    SendNext();
  }
  void OnDone() override { delete this; }

 private:
  static constexpr int64_t kChunkBytes = 32 * 1024;

  void SendNext() {
    if (sent_ < copy_->size_bytes) {
      std::string* blob = response_.mutable_blob();
      blob->resize(static_cast<size_t>(std::min(kChunkBytes, copy_->size_bytes - sent_)));
      ssize_t n = ::pread(copy_->fd, blob->data(), blob->size(), sent_);
      if (n != static_cast<ssize_t>(blob->size())) {
        return End(grpc::Status(grpc::StatusCode::UNKNOWN, "snapshot: short read of the backend copy"));
      }
      EVP_DigestUpdate(sha256_.get(), blob->data(), blob->size());
      sent_ += n;
      response_.set_remaining_bytes(static_cast<uint64_t>(copy_->size_bytes - sent_));
      return StartWrite(&response_);
    }
    if (!digest_sent_) {
      digest_sent_ = true;
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      EVP_DigestFinal_ex(sha256_.get(), digest, &length);
      response_.set_blob(digest, length);
      response_.set_remaining_bytes(0);
      return StartWrite(&response_);
    }
    End(grpc::Status::OK);
  }

  void End(grpc::Status status) {
    server_->metrics().GrpcHandled(kMaintenance, "Snapshot", GrpcCodeName(status.error_code()), true);
    Finish(std::move(status));
  }

  server::EtcdServer* server_;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha256_;
  std::shared_ptr<server::EtcdServer::BackendCopy> copy_;
  etcdserverpb::SnapshotResponse response_;
  int64_t sent_ = 0;
  bool digest_sent_ = false;
};

}  // namespace

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* MaintenanceService::Snapshot(
    grpc::CallbackServerContext*, const etcdserverpb::SnapshotRequest*) {
  return new SnapshotStream(server_);
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
