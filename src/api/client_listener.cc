#include "api/client_listener.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
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

using SslStream = beast::ssl_stream<beast::tcp_stream>;

// Streamed answers in flight: each owns its connection on a thread of its own.
struct Streams {
  HttpStreamHandler handler;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable ended;
  int active = 0;  // guarded by mu

  // Answers on a thread of its own, with blocking writes: the connection (a plain
  // beast::tcp_stream or an SslStream) is no longer the I/O threads'.
  template <typename Stream>
  void Run(Stream connection, HttpStream stream) {
    {
      std::lock_guard lock(mu);
      ++active;
    }
    std::thread([this, connection = std::move(connection), stream = std::move(stream)]() mutable {
      beast::error_code ec;
      auto& socket = beast::get_lowest_layer(connection).socket();
      const std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
      asio::write(connection, asio::buffer(head), ec);
      auto open = [&] {
        if (ec || stopping.load()) return false;
        pollfd p{socket.native_handle(), POLLRDHUP, 0};
        return ::poll(&p, 1, 0) == 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
      };
      auto send = [&](const std::string& data) {
        if (ec || stopping.load()) return false;
        char size[32];
        std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
        asio::write(connection,
                    std::vector<asio::const_buffer>{asio::buffer(size, std::strlen(size)), asio::buffer(data),
                                                    asio::buffer("\r\n", 2)},
                    ec);
        return !ec;
      };
      stream(send, open);
      asio::write(connection, asio::buffer("0\r\n\r\n", 5), ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      std::lock_guard lock(mu);
      if (--active == 0) ended.notify_all();
    }).detach();
  }

  void Stop() {
    stopping = true;
    std::unique_lock lock(mu);
    ended.wait(lock, [&] { return active == 0; });
  }
};

std::string RemoteAddress(const tcp::socket& socket) {
  beast::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  return remote.address().to_string() + ":" + std::to_string(remote.port());
}

// Serves one HTTP/1.x connection: request, response, until either side closes. `Stream`
// is beast::tcp_stream or SslStream.
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream stream, const HttpHandler& handler, Streams& streams)
      : stream_(std::move(stream)), handler_(handler), streams_(streams) {}

  void Read() {
    request_ = {};
    // Bodies beyond --max-request-bytes are refused by the handler; this bound only
    // keeps a hostile client from making us buffer without limit.
    parser_.emplace();
    parser_->body_limit(64 << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof) {
        base::Log(base::LogLevel::kWarn, "closing a connection that sent a malformed request",
                  {{"remote-addr", RemoteAddress(Socket())}, {"error", ec.message()}});
        HttpResponse bad{http::status::bad_request, 11};
        bad.set(http::field::content_type, "text/plain");
        bad.body() = ec.message() + "\n";
        bad.prepare_payload();
        http::write(stream_, bad, ec);
      }
      Socket().shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    request_ = parser_->release();
    if (streams_.handler) {
      if (HttpStream stream = streams_.handler(request_)) {
        return streams_.Run(std::move(stream_), std::move(stream));
      }
    }
    response_ = handler_(request_);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) {
        self->Socket().shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
      self->Read();
    });
  }

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  HttpResponse response_;
  const HttpHandler& handler_;
  Streams& streams_;
};

// Peeks at a new connection's first bytes and hands it to gRPC or HTTP.
class Classifier : public std::enable_shared_from_this<Classifier> {
 public:
  Classifier(tcp::socket socket, grpc::Server* grpc_server, const HttpHandler& handler, Streams& streams)
      : socket_(std::move(socket)), grpc_server_(grpc_server), handler_(handler), streams_(streams) {}

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
    std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket_)), handler_, streams_)
        ->Read();
  }

  tcp::socket socket_;
  grpc::Server* grpc_server_;
  const HttpHandler& handler_;
  Streams& streams_;
  int peeks_ = 0;
};

// Carries an h2 connection's bytes between its TLS stream and gRPC's end of a
// socketpair, in both directions at once, until either side closes. Runs on the
// connection's strand (asio's SSL streams allow one read and one write in flight there).
class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(SslStream tls, asio::local::stream_protocol::socket local) : tls_(std::move(tls)), local_(std::move(local)) {}

  void Start() {
    ToGrpc();
    ToClient();
  }

 private:
  void ToGrpc() {
    tls_.async_read_some(asio::buffer(to_grpc_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->Close();
      asio::async_write(self->local_, asio::buffer(self->to_grpc_.data(), n),
                        [self](beast::error_code ec, size_t) { ec ? self->Close() : self->ToGrpc(); });
    });
  }

  void ToClient() {
    local_.async_read_some(asio::buffer(to_client_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->Close();
      asio::async_write(self->tls_, asio::buffer(self->to_client_.data(), n),
                        [self](beast::error_code ec, size_t) { ec ? self->Close() : self->ToClient(); });
    });
  }

  // Either side gone: both are closed, which ends the other direction's pending operation.
  void Close() {
    beast::error_code ec;
    local_.close(ec);
    beast::get_lowest_layer(tls_).socket().close(ec);
  }

  SslStream tls_;
  asio::local::stream_protocol::socket local_;
  std::array<char, 16384> to_grpc_;  // one TLS record's worth of plaintext
  std::array<char, 16384> to_client_;
};

// etcd's check of a peer's client certificate: one that names IP addresses must name the
// address the connection comes from, or else (when it names DNS names) one of those must
// resolve to it; a certificate naming neither passes. Returns why not, empty if it
// matches. The names are resolved here, blocking this I/O thread: members connect rarely.
std::string ClientSanMismatch(SSL* ssl, asio::ip::address remote, const asio::any_io_executor& executor) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  if (remote.is_v6() && remote.to_v6().is_v4_mapped()) {
    remote = asio::ip::make_address_v4(asio::ip::v4_mapped, remote.to_v6());
  }
  std::vector<asio::ip::address> ips;
  std::vector<std::string> dns;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                       ASN1_STRING_length(name->d.dNSName));
    } else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 4) {
      asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), ASN1_STRING_get0_data(name->d.iPAddress), bytes.size());
      ips.emplace_back(asio::ip::address_v4(bytes));
    } else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 16) {
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), ASN1_STRING_get0_data(name->d.iPAddress), bytes.size());
      ips.emplace_back(asio::ip::address_v6(bytes));
    }
  }
  GENERAL_NAMES_free(names);
  if (std::find(ips.begin(), ips.end(), remote) != ips.end()) return "";
  if (dns.empty()) {
    if (ips.empty()) return "";
    std::string valid;
    for (const auto& ip : ips) valid += (valid.empty() ? "" : ", ") + ip.to_string();
    return "x509: certificate is valid for " + valid + ", not " + remote.to_string();
  }
  std::string quoted;
  for (const auto& name : dns) {
    tcp::resolver resolver(executor);
    beast::error_code ec;
    for (const auto& entry : resolver.resolve(name, "", ec)) {
      if (entry.endpoint().address() == remote) return "";
    }
    quoted += (quoted.empty() ? "\"" : " \"") + name + "\"";
  }
  return "tls: \"" + remote.to_string() + "\" does not match any of DNSNames [" + quoted + "]";
}

// The TLS handshake of a new connection on an https:// listener, then the hand-off that
// ALPN chose.
class TlsHandshake : public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(tcp::socket socket, ServerTls& context, bool check_client_san, grpc::Server* grpc_server,
               const HttpHandler& handler, Streams& streams)
      : remote_(RemoteAddress(socket)),
        check_client_san_(check_client_san),
        stream_(beast::tcp_stream(std::move(socket)), context),
        grpc_server_(grpc_server),
        handler_(handler),
        streams_(streams) {}

  void Start() {
    // A client that connects and never finishes the handshake is dropped.
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

 private:
  void OnHandshake(beast::error_code ec) {
    if (ec) {
      base::Log(base::LogLevel::kWarn, "rejected connection", {{"remote-addr", remote_}, {"error", ec.message()}});
      return;
    }
    beast::get_lowest_layer(stream_).expires_never();
    if (check_client_san_) {
      auto& socket = beast::get_lowest_layer(stream_).socket();
      std::string mismatch = ClientSanMismatch(stream_.native_handle(), socket.remote_endpoint(ec).address(),
                                               stream_.get_executor());
      if (!mismatch.empty()) {
        base::Log(base::LogLevel::kWarn, "rejected connection", {{"remote-addr", remote_}, {"error", mismatch}});
        return;
      }
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_length = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &alpn, &alpn_length);
    if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_length) != "h2") {
      std::make_shared<HttpSession<SslStream>>(std::move(stream_), handler_, streams_)->Read();
      return;
    }
    asio::local::stream_protocol::socket ours(stream_.get_executor()), grpcs(stream_.get_executor());
    asio::local::connect_pair(ours, grpcs, ec);
    // gRPC reads until EAGAIN: a blocking descriptor would stall its poller thread.
    if (!ec) grpcs.non_blocking(true, ec);
    if (ec) {
      base::Log(base::LogLevel::kWarn, "cannot relay a TLS connection to gRPC", {{"error", ec.message()}});
      return;
    }
    // gRPC takes its end and that end's lifetime from here on.
    grpc::AddInsecureChannelFromFd(grpc_server_, grpcs.release());
    std::make_shared<Relay>(std::move(stream_), std::move(ours))->Start();
  }

  std::string remote_;
  bool check_client_san_;
  SslStream stream_;
  grpc::Server* grpc_server_;
  const HttpHandler& handler_;
  Streams& streams_;
};

}  // namespace

struct ClientListener::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  grpc::Server* grpc_server = nullptr;
  std::shared_ptr<ServerTls> tls;  // null: plain TCP
  bool check_client_san = false;
  HttpHandler handler;
  Streams streams;
  std::vector<std::thread> threads;

  void Accept() {
    // A strand per connection: a TLS stream's read and write must not run at once.
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        if (tls) {
          std::make_shared<TlsHandshake>(std::move(socket), *tls, check_client_san, grpc_server, handler, streams)
              ->Start();
        } else {
          std::make_shared<Classifier>(std::move(socket), grpc_server, handler, streams)->Peek();
        }
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
                                                                    int io_threads,
                                                                    HttpStreamHandler stream_handler,
                                                                    std::shared_ptr<ServerTls> tls,
                                                                    bool check_client_san) {
  auto host_port = ParseHostPort(url);
  if (!host_port.ok()) return host_port.status();
  if (url.rfind("https://", 0) == 0 && !tls) {
    return base::Status(base::Code::kInvalidArgument, "no TLS configuration for " + url);
  }
  auto impl = std::make_unique<Impl>();
  impl->tls = std::move(tls);
  impl->check_client_san = check_client_san;
  impl->grpc_server = grpc_server;
  impl->handler = std::move(http_handler);
  impl->streams.handler = std::move(stream_handler);
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
  impl_->streams.Stop();
}

int ClientListener::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace etcpp::api
