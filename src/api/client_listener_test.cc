#include "api/client_listener.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcpp::api {
namespace {

namespace http = boost::beast::http;

// A KV service that answers Range with a recognisable header, to see gRPC arrive.
class EchoKV : public etcdserverpb::KV::CallbackService {
  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const etcdserverpb::RangeRequest* request,
                                  etcdserverpb::RangeResponse* response) override {
    response->mutable_header()->set_revision(static_cast<int64_t>(request->key().size()));
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class ClientListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&kv_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    auto listener = ClientListener::Start("http://127.0.0.1:0", server_.get(), [](const HttpRequest& r) {
      HttpResponse response{http::status::ok, r.version()};
      response.body() = "you asked for " + std::string(r.target());
      return response;
    });
    ASSERT_TRUE(listener.ok()) << listener.status().ToString();
    listener_ = std::move(*listener);
  }
  void TearDown() override {
    listener_->Stop();
    server_->Shutdown();
  }

  std::string HttpGet(const std::string& target) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(listener_->port())});
    http::request<http::string_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "localhost");
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.body();
  }

  EchoKV kv_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ClientListener> listener_;
};

TEST_F(ClientListenerTest, HttpAndGrpcShareOnePort) {
  EXPECT_EQ(HttpGet("/health"), "you asked for /health");

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(listener_->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = etcdserverpb::KV::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    etcdserverpb::RangeRequest request;
    request.set_key("four");
    etcdserverpb::RangeResponse response;
    grpc::Status status = stub->Range(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.header().revision(), 4);
  }
  EXPECT_EQ(HttpGet("/version"), "you asked for /version") << "HTTP still served after gRPC";
}

TEST_F(ClientListenerTest, GarbageIsAnsweredWithBadRequestAndServingGoesOn) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"),
                  static_cast<unsigned short>(listener_->port())});
  boost::asio::write(socket, boost::asio::buffer(std::string("\x16\x03\x01garbage\r\n\r\n")));
  std::string reply(256, '\0');
  boost::system::error_code ec;
  size_t n = socket.read_some(boost::asio::buffer(reply), ec);
  EXPECT_EQ(reply.substr(0, std::min<size_t>(n, 12)), "HTTP/1.1 400");
  EXPECT_EQ(HttpGet("/health"), "you asked for /health");
}

TEST(ParseHostPort, AcceptsEtcdUrlsAndRefusesOthers) {
  auto ok = ParseHostPort("http://localhost:2379");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first, "localhost");
  EXPECT_EQ(ok->second, 2379);
  EXPECT_EQ(ParseHostPort("http://[::1]:2379")->first, "::1");
  EXPECT_FALSE(ParseHostPort("localhost:2379").ok());
  EXPECT_FALSE(ParseHostPort("http://localhost").ok());
  EXPECT_FALSE(ParseHostPort("http://localhost:99999").ok());
}

}  // namespace
}  // namespace etcpp::api
