#include "api/election_service.h"

#include <deque>

#include "api/errors.h"
#include "api/recipes.h"

namespace etcpp::api {
namespace {

constexpr const char* kElection = "v3electionpb.Election";

// etcd's errors here are plain Go errors, so clients see them with gRPC code UNKNOWN.
base::Status NotLeader() { return base::Status(base::Code::kFailedPrecondition, "election: not leader"); }
base::Status NoLeader() { return base::Status(base::Code::kNotFound, "election: no leader"); }
grpc::Status MissingLeaderKey() {
  return grpc::Status(grpc::StatusCode::UNKNOWN, "\"leader\" field must be provided");
}

void Finish(server::EtcdServer* server, grpc::ServerUnaryReactor* reactor, const char* method,
            grpc::Status status) {
  server->metrics().GrpcHandled(kElection, method, GrpcCodeName(status.error_code()), false);
  reactor->Finish(std::move(status));
}

etcdserverpb::Compare CreatedAt(const std::string& key, int64_t revision) {
  etcdserverpb::Compare compare;
  compare.set_key(key);
  compare.set_target(etcdserverpb::Compare::CREATE);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_create_revision(revision);
  return compare;
}

void PutIfCreatedAt(server::EtcdServer* server, const v3electionpb::LeaderKey& leader, const std::string& value,
                    server::Done<etcdserverpb::ResponseHeader> done) {
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreatedAt(leader.key(), leader.rev());
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(leader.key());
  put->set_value(value);
  put->set_lease(leader.lease());
  server->Txn(std::move(txn), [done = std::move(done)](base::Result<etcdserverpb::TxnResponse> r) {
    if (!r.ok()) return done(r.status());
    if (!r->succeeded()) return done(NotLeader());
    done(r->header());
  });
}

void DeleteIfCreatedAt(server::EtcdServer* server, const v3electionpb::LeaderKey& leader,
                       server::Done<etcdserverpb::ResponseHeader> done) {
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreatedAt(leader.key(), leader.rev());
  txn.add_success()->mutable_request_delete_range()->set_key(leader.key());
  server->Txn(std::move(txn), [done = std::move(done)](base::Result<etcdserverpb::TxnResponse> r) {
    if (!r.ok()) return done(r.status());
    done(r->header());
  });
}

// Streams the leader of one election: the current leader's key (or the first one put,
// when nobody leads), then each new value of that key until it is deleted, then the
// next leader's. One write in flight at a time; the rest wait in `queue_`.
//
// Lifetime: gRPC holds one reference until OnDone, and each server call or watch in
// flight holds one until its last callback, so none of them outlives the reactor.
class ObserveReactor final : public grpc::ServerWriteReactor<v3electionpb::LeaderResponse> {
 public:
  ObserveReactor(server::EtcdServer* server, std::string prefix)
      : server_(server), prefix_(std::move(prefix)) {
    FindLeader();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) return End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed"));
    WriteNext();
  }
  void OnCancel() override { cancellation_->Cancel(); }
  void OnDone() override {
    server_->metrics().GrpcHandled(kElection, "Observe", "OK", true);
    Unref();
  }

 private:
  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void FindLeader() {
    if (cancellation_->cancelled()) return EndLocked(recipes::ErrorStatus(recipes::CancelledStatus()));
    Ref();
    server_->Range(recipes::FirstCreated(prefix_), [this](base::Result<etcdserverpb::RangeResponse> r) {
      if (!r.ok()) {
        EndLocked(recipes::ErrorStatus(r.status()));
      } else if (r->kvs_size() > 0) {
        Follow(r->header(), r->kvs(0));
      } else {
        AwaitFirstLeader(r->header().revision());
      }
      Unref();
    });
  }

  // Nobody leads: the first key put under the prefix is the next leader.
  void AwaitFirstLeader(int64_t revision) {
    auto found = std::make_shared<std::pair<etcdserverpb::ResponseHeader, mvccpb::KeyValue>>();
    Ref();
    recipes::Watch(
        server_, prefix_, recipes::PrefixEnd(prefix_), revision, cancellation_,
        [found](const etcdserverpb::ResponseHeader& header, const std::vector<mvccpb::Event>& events) {
          for (const auto& event : events) {
            if (event.type() != mvccpb::Event::PUT) continue;
            found->first = header;
            found->first.set_revision(event.kv().mod_revision());
            found->second = event.kv();
            return false;
          }
          return true;
        },
        [this, found](base::Result<bool> ended) {
          if (!ended.ok()) {
            EndLocked(recipes::ErrorStatus(ended.status()));
          } else {
            Follow(found->first, found->second);
          }
          Unref();
        });
  }

  // Sends `kv` as the leader, then each change of it until it is deleted.
  void Follow(const etcdserverpb::ResponseHeader& header, const mvccpb::KeyValue& kv) {
    Send(header, kv);
    Ref();
    recipes::Watch(
        server_, kv.key(), "", header.revision() + 1, cancellation_,
        [this](const etcdserverpb::ResponseHeader& at, const std::vector<mvccpb::Event>& events) {
          for (const auto& event : events) {
            if (event.type() == mvccpb::Event::DELETE) return false;
            Send(at, event.kv());
          }
          return true;
        },
        [this](base::Result<bool> ended) {
          if (!ended.ok()) {
            EndLocked(recipes::ErrorStatus(ended.status()));
          } else {
            FindLeader();
          }
          Unref();
        });
  }

  void Send(const etcdserverpb::ResponseHeader& header, const mvccpb::KeyValue& kv) {
    std::lock_guard lock(mu_);
    v3electionpb::LeaderResponse response;
    *response.mutable_header() = header;
    *response.mutable_kv() = kv;
    queue_.push_back(std::move(response));
    WriteNext();
  }

  // Requires mu_.
  void WriteNext() {
    if (writing_ || ended_ || queue_.empty()) return;
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&current_);
  }

  void EndLocked(grpc::Status status) {
    std::lock_guard lock(mu_);
    End(std::move(status));
  }
  // Requires mu_.
  void End(grpc::Status status) {
    if (ended_) return;
    ended_ = true;
    cancellation_->Cancel();
    Finish(std::move(status));
  }

  server::EtcdServer* const server_;
  const std::string prefix_;
  recipes::Cancelled cancellation_ = std::make_shared<recipes::Cancellation>();
  std::atomic<int> refs_{1};
  std::mutex mu_;
  std::deque<v3electionpb::LeaderResponse> queue_;  // guarded by mu_
  v3electionpb::LeaderResponse current_;            // guarded by mu_: being written
  bool writing_ = false;                            // guarded by mu_
  bool ended_ = false;                              // guarded by mu_
};

}  // namespace

grpc::ServerUnaryReactor* ElectionService::Campaign(grpc::CallbackServerContext*,
                                                    const v3electionpb::CampaignRequest* request,
                                                    v3electionpb::CampaignResponse* response) {
  auto* reactor = new recipes::CancellableReactor();
  std::string prefix = request->name() + "/";
  v3electionpb::LeaderKey leader;
  leader.set_name(request->name());
  leader.set_key(recipes::ContenderKey(prefix, request->lease()));
  leader.set_lease(request->lease());
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = CreatedAt(leader.key(), 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(leader.key());
  put->set_value(request->value());
  put->set_lease(request->lease());
  txn.add_failure()->mutable_request_range()->set_key(leader.key());
  server::EtcdServer* server = server_;
  auto cancelled = reactor->cancellation;
  std::string value = request->value();
  server_->Txn(std::move(txn), [server, reactor, response, prefix, leader, value,
                                cancelled](base::Result<etcdserverpb::TxnResponse> joined) mutable {
    if (!joined.ok()) return Finish(server, reactor, "Campaign", recipes::ErrorStatus(joined.status()));
    *response->mutable_header() = joined->header();
    const mvccpb::KeyValue* existing = joined->succeeded() ? nullptr : &joined->responses(0).response_range().kvs(0);
    leader.set_rev(existing ? existing->create_revision() : joined->header().revision());
    *response->mutable_leader() = leader;
    auto wait = [server, reactor, prefix, leader, cancelled] {
      recipes::WaitDeletes(server, prefix, leader.rev() - 1, cancelled,
                           [server, reactor, leader, cancelled](base::Result<etcdserverpb::ResponseHeader> waited) {
                             if (waited.ok()) return Finish(server, reactor, "Campaign", grpc::Status::OK);
                             grpc::Status failed = recipes::ErrorStatus(waited.status());
                             if (!cancelled->cancelled()) return Finish(server, reactor, "Campaign", failed);
                             // A campaign the client gave up leaves the election.
                             DeleteIfCreatedAt(server, leader, [server, reactor, failed](auto) {
                               Finish(server, reactor, "Campaign", failed);
                             });
                           });
    };
    if (!existing || existing->value() == value) return wait();
    // Our key from an earlier campaign with the same lease: take the new value.
    PutIfCreatedAt(server, leader, value, [server, reactor, leader, wait](auto proclaimed) {
      if (proclaimed.ok()) return wait();
      DeleteIfCreatedAt(server, leader, [server, reactor, failed = recipes::ErrorStatus(proclaimed.status())](auto) {
        Finish(server, reactor, "Campaign", failed);
      });
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Proclaim(grpc::CallbackServerContext* context,
                                                    const v3electionpb::ProclaimRequest* request,
                                                    v3electionpb::ProclaimResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!request->has_leader()) {
    Finish(server_, reactor, "Proclaim", MissingLeaderKey());
    return reactor;
  }
  server::EtcdServer* server = server_;
  PutIfCreatedAt(server_, request->leader(), request->value(),
                 [server, reactor, response](base::Result<etcdserverpb::ResponseHeader> header) {
                   if (!header.ok()) return Finish(server, reactor, "Proclaim", recipes::ErrorStatus(header.status()));
                   *response->mutable_header() = *header;
                   Finish(server, reactor, "Proclaim", grpc::Status::OK);
                 });
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Leader(grpc::CallbackServerContext* context,
                                                  const v3electionpb::LeaderRequest* request,
                                                  v3electionpb::LeaderResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  server::EtcdServer* server = server_;
  server_->Range(recipes::FirstCreated(request->name() + "/"),
                 [server, reactor, response](base::Result<etcdserverpb::RangeResponse> r) {
                   if (!r.ok()) return Finish(server, reactor, "Leader", recipes::ErrorStatus(r.status()));
                   if (r->kvs_size() == 0) return Finish(server, reactor, "Leader", recipes::ErrorStatus(NoLeader()));
                   *response->mutable_header() = r->header();
                   *response->mutable_kv() = r->kvs(0);
                   Finish(server, reactor, "Leader", grpc::Status::OK);
                 });
  return reactor;
}

grpc::ServerWriteReactor<v3electionpb::LeaderResponse>* ElectionService::Observe(
    grpc::CallbackServerContext*, const v3electionpb::LeaderRequest* request) {
  return new ObserveReactor(server_, request->name() + "/");
}

grpc::ServerUnaryReactor* ElectionService::Resign(grpc::CallbackServerContext* context,
                                                  const v3electionpb::ResignRequest* request,
                                                  v3electionpb::ResignResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!request->has_leader()) {
    Finish(server_, reactor, "Resign", MissingLeaderKey());
    return reactor;
  }
  server::EtcdServer* server = server_;
  DeleteIfCreatedAt(server_, request->leader(),
                    [server, reactor, response](base::Result<etcdserverpb::ResponseHeader> header) {
                      if (!header.ok()) return Finish(server, reactor, "Resign", recipes::ErrorStatus(header.status()));
                      *response->mutable_header() = *header;
                      Finish(server, reactor, "Resign", grpc::Status::OK);
                    });
  return reactor;
}

}  // namespace etcpp::api
