#include "api/lock_service.h"

#include "api/errors.h"
#include "api/recipes.h"

namespace etcpp::api {
namespace {

constexpr const char* kLock = "v3lockpb.Lock";

void Finish(server::EtcdServer* server, grpc::ServerUnaryReactor* reactor, const char* method,
            grpc::Status status) {
  server->metrics().GrpcHandled(kLock, method, GrpcCodeName(status.error_code()), false);
  reactor->Finish(std::move(status));
}

}  // namespace

grpc::ServerUnaryReactor* LockService::Lock(grpc::CallbackServerContext*, const v3lockpb::LockRequest* request,
                                            v3lockpb::LockResponse* response) {
  auto* reactor = new recipes::CancellableReactor();
  std::string prefix = request->name() + "/";
  std::string key = recipes::ContenderKey(prefix, request->lease());
  // Join the queue (or find our key from an earlier call with the same lease) and learn
  // the holder, in one txn: the uncontended lock costs one round.
  etcdserverpb::TxnRequest txn;
  auto* absent = txn.add_compare();
  absent->set_key(key);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_lease(request->lease());
  *txn.add_success()->mutable_request_range() = recipes::FirstCreated(prefix);
  txn.add_failure()->mutable_request_range()->set_key(key);
  *txn.add_failure()->mutable_request_range() = recipes::FirstCreated(prefix);
  server::EtcdServer* server = server_;
  auto cancelled = reactor->cancellation;
  server_->Txn(std::move(txn), [server, reactor, response, prefix, key,
                                cancelled](base::Result<etcdserverpb::TxnResponse> joined) {
    if (!joined.ok()) return Finish(server, reactor, "Lock", recipes::ErrorStatus(joined.status()));
    int64_t my_rev = joined->succeeded() ? joined->header().revision()
                                         : joined->responses(0).response_range().kvs(0).create_revision();
    const auto& holder = joined->responses(1).response_range().kvs();
    response->set_key(key);
    if (holder.empty() || holder[0].create_revision() == my_rev) {
      *response->mutable_header() = joined->header();
      return Finish(server, reactor, "Lock", grpc::Status::OK);
    }
    recipes::WaitDeletes(
        server, prefix, my_rev - 1, cancelled,
        [server, reactor, response, key](base::Result<etcdserverpb::ResponseHeader> header) {
          if (header.ok()) {
            *response->mutable_header() = *header;
            return Finish(server, reactor, "Lock", grpc::Status::OK);
          }
          // Leave the queue, as etcd's mutex does when its wait fails.
          etcdserverpb::DeleteRangeRequest leave;
          leave.set_key(key);
          grpc::Status failed = recipes::ErrorStatus(header.status());
          server->DeleteRange(std::move(leave), [server, reactor, failed](auto) {
            Finish(server, reactor, "Lock", failed);
          });
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* LockService::Unlock(grpc::CallbackServerContext* context,
                                              const v3lockpb::UnlockRequest* request,
                                              v3lockpb::UnlockResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  etcdserverpb::DeleteRangeRequest unlock;
  unlock.set_key(request->key());
  server::EtcdServer* server = server_;
  server_->DeleteRange(std::move(unlock), [server, reactor, response](auto deleted) {
    if (!deleted.ok()) return Finish(server, reactor, "Unlock", recipes::ErrorStatus(deleted.status()));
    *response->mutable_header() = deleted->header();
    Finish(server, reactor, "Unlock", grpc::Status::OK);
  });
  return reactor;
}

}  // namespace etcpp::api
