// v3electionpb.Election: etcd's leader election served by the server (etcd's
// v3election over clientv3/concurrency's Election, same keys and revisions; see
// recipes.h). Campaign answers once the caller leads; Observe streams the leader's
// value each time it changes, and the next leader's when one takes over.
#pragma once

#include <grpcpp/grpcpp.h>

#include "server/server.h"
#include "v3electionpb/v3election.grpc.pb.h"

namespace etcpp::api {

class ElectionService final : public v3electionpb::Election::CallbackService {
 public:
  explicit ElectionService(server::EtcdServer* server) : server_(server) {}

  grpc::ServerUnaryReactor* Campaign(grpc::CallbackServerContext* context,
                                     const v3electionpb::CampaignRequest* request,
                                     v3electionpb::CampaignResponse* response) override;
  grpc::ServerUnaryReactor* Proclaim(grpc::CallbackServerContext* context,
                                     const v3electionpb::ProclaimRequest* request,
                                     v3electionpb::ProclaimResponse* response) override;
  grpc::ServerUnaryReactor* Leader(grpc::CallbackServerContext* context,
                                   const v3electionpb::LeaderRequest* request,
                                   v3electionpb::LeaderResponse* response) override;
  grpc::ServerWriteReactor<v3electionpb::LeaderResponse>* Observe(
      grpc::CallbackServerContext* context, const v3electionpb::LeaderRequest* request) override;
  grpc::ServerUnaryReactor* Resign(grpc::CallbackServerContext* context,
                                   const v3electionpb::ResignRequest* request,
                                   v3electionpb::ResignResponse* response) override;

 private:
  server::EtcdServer* server_;
};

}  // namespace etcpp::api
