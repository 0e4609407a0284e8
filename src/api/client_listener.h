// The client port: one TCP listener per --listen-client-urls entry serving gRPC and
// HTTP/1.1 (the JSON gateway, /health, /version, /metrics) on the same address, as
// etcd does. Each accepted connection is classified by its first bytes: the HTTP/2
// connection preface ("PRI * HTTP/2.0") goes to the gRPC server, anything else is read
// as HTTP/1.x.
//
// An https:// URL terminates TLS here (api/tls.h) before that choice, which ALPN makes:
// "h2" connections are relayed in the clear to gRPC through a socketpair (gRPC C++ can
// adopt a descriptor only without TLS), the rest are served HTTP/1.x over TLS.
//
// Threads: Start() spawns the listener's I/O threads; the handler runs on them and must
// not block for long. Stop() closes the listening sockets and joins the threads;
// connections already handed to gRPC are gRPC's to close.
#pragma once

#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string>

#include "api/tls.h"
#include "base/status.h"

namespace grpc {
class Server;
}

namespace etcpp::api {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// grpc-gateway's streamed answers (/v3/watch): when the stream handler returns a stream
// for a request, it runs on a thread of its own after a chunked 200 header. `send`
// writes one chunk; it and `open` return false once the client has gone or the listener
// is stopping. The answer ends when the stream returns; Stop() waits for that.
using HttpStreamSend = std::function<bool(const std::string&)>;
using HttpStream = std::function<void(const HttpStreamSend& send, const std::function<bool()>& open)>;
using HttpStreamHandler = std::function<HttpStream(const HttpRequest&)>;  // empty: not streamed

class ClientListener {
 public:
  // `url` is http://host:port, or https://host:port with `tls` set (ServerTlsFor).
  // `grpc_server` must outlive the listener. `check_client_san` (the peer port's, as in
  // etcd): a client certificate that names IP addresses or DNS names must name the
  // address the connection comes from, or the connection is closed after the handshake.
  static base::Result<std::unique_ptr<ClientListener>> Start(const std::string& url,
                                                             grpc::Server* grpc_server,
                                                             HttpHandler http_handler,
                                                             int io_threads = 2,
                                                             HttpStreamHandler stream_handler = nullptr,
                                                             std::shared_ptr<ServerTls> tls = nullptr,
                                                             bool check_client_san = false);
  ~ClientListener();
  void Stop();

  // The bound port (useful when the URL asked for port 0).
  int port() const;

 private:
  struct Impl;
  explicit ClientListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "http://host:port" into host and port; the error names the URL.
base::Result<std::pair<std::string, int>> ParseHostPort(const std::string& url);

}  // namespace etcpp::api
