// null_kv_server: answers etcd's KV Range and Put at once with empty responses, doing no
// work, on 127.0.0.1:PORT. It is a server that can take more than etcpp-bench can send,
// to measure etcpp-bench's own ceiling: requests per CPU-second of the tool
// (docs/PERFORMANCE.md, "etcpp-bench itself"). Not an etcd: nothing is stored.
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <string>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace {

class NullKv final : public etcdserverpb::KV::CallbackService {
  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context, const etcdserverpb::RangeRequest*,
                                  etcdserverpb::RangeResponse*) override {
    return Done(context);
  }
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context, const etcdserverpb::PutRequest*,
                                etcdserverpb::PutResponse*) override {
    return Done(context);
  }
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: null_kv_server PORT\n";
    return 2;
  }
  NullKv service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server) return 1;
  server->Wait();
}
