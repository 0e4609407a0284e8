#include "api/client_listener.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include <thread>
#include <vector>

#include "base/log.h"

namespace etcpp::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0";

// Serves one HTTP/1.x connection: request, response, until either side closes.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpHandler& handler)
      : stream_(std::move(socket)), handler_(handler) {}

  void Read() {
    request_ = {};
    // Bodies beyond --max-request-bytes are refused by the handler; this bound only
    // keeps a hostile client from making us buffer without limit.
    parser_.emplace();
    parser_->body_limit(64 << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof) {
        beast::error_code ignored;
        auto remote = stream_.socket().remote_endpoint(ignored);
        base::Log(base::LogLevel::kWarn, "closing a connection that sent a malformed request",
                  {{"remote-addr", remote.address().to_string() + ":" + std::to_string(remote.port())},
                   {"error", ec.message()}});
        HttpResponse bad{http::status::bad_request, 11};
        bad.set(http::field::content_type, "text/plain");
        bad.body() = ec.message() + "\n";
        bad.prepare_payload();
        http::write(stream_, bad, ec);
      }
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    request_ = parser_->release();
    response_ = handler_(request_);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
      self->Read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  HttpResponse response_;
  const HttpHandler& handler_;
};

// Peeks at a new connection's first bytes and hands it to gRPC or HTTP.
class Classifier : public std::enable_shared_from_this<Classifier> {
 public:
  Classifier(tcp::socket socket, grpc::Server* grpc_server, const HttpHandler& handler)
      : socket_(std::move(socket)), grpc_server_(grpc_server), handler_(handler) {}

  void Peek() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      self->OnReadable(ec);
    });
  }

 private:
  void OnReadable(beast::error_code ec) {
    if (ec) return;
    char head[kHttp2Preface.size()];
    size_t n = socket_.receive(asio::buffer(head), tcp::socket::message_peek, ec);
    if (ec || n == 0) return;  // closed before saying anything
    std::string_view seen(head, n);
    // A prefix of the preface may be all that has arrived; wait for more.
    if (n < kHttp2Preface.size() && kHttp2Preface.substr(0, n) == seen) {
      if (++peeks_ > 1000) return;  // a client trickling bytes forever is dropped
      return Peek();
    }
    if (seen == kHttp2Preface) {
      // gRPC takes the descriptor and its lifetime from here on.
      grpc::AddInsecureChannelFromFd(grpc_server_, socket_.release());
      return;
    }
    std::make_shared<HttpSession>(std::move(socket_), handler_)->Read();
  }

  tcp::socket socket_;
  grpc::Server* grpc_server_;
  const HttpHandler& handler_;
  int peeks_ = 0;
};

}  // namespace

struct ClientListener::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  grpc::Server* grpc_server = nullptr;
  HttpHandler handler;
  std::vector<std::thread> threads;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Classifier>(std::move(socket), grpc_server, handler)->Peek();
      }
      Accept();
    });
  }
};

base::Result<std::pair<std::string, int>> ParseHostPort(const std::string& url) {
  auto bad = [&] {
    return base::Status(base::Code::kInvalidArgument, "invalid client URL " + url);
  };
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return bad();
  std::string rest = url.substr(scheme + 3);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return bad();
  std::string host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
    return bad();
  }
  if (port < 0 || port > 65535) return bad();
  return std::pair{host, port};
}

base::Result<std::unique_ptr<ClientListener>> ClientListener::Start(const std::string& url,
                                                                    grpc::Server* grpc_server,
                                                                    HttpHandler http_handler,
                                                                    int io_threads) {
  auto host_port = ParseHostPort(url);
  if (!host_port.ok()) return host_port.status();
  auto impl = std::make_unique<Impl>();
  impl->grpc_server = grpc_server;
  impl->handler = std::move(http_handler);
  beast::error_code ec;
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(host_port->first, std::to_string(host_port->second), ec);
  if (ec || endpoints.empty()) {
    return base::Status(base::Code::kInvalidArgument,
                        "cannot resolve " + url + ": " + ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return base::Status(base::Code::kUnavailable,
                        "listen tcp " + endpoint.address().to_string() + ":" +
                            std::to_string(endpoint.port()) + ": bind: " + ec.message());
  }
  impl->Accept();
  for (int i = 0; i < io_threads; ++i) impl->threads.emplace_back([io = &impl->io] { io->run(); });
  return std::unique_ptr<ClientListener>(new ClientListener(std::move(impl)));
}

ClientListener::ClientListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientListener::~ClientListener() { Stop(); }

void ClientListener::Stop() {
  if (impl_->threads.empty()) return;
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

int ClientListener::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace etcpp::api
