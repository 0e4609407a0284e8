// Server-side TLS for the client and peer listeners (etcd's --cert-file, --key-file,
// --trusted-ca-file, --client-cert-auth, --auto-tls and their --peer- twins).
//
// A ServerTls is an OpenSSL context built once at start, from files read then: a missing
// or unreadable file is an error naming it, so a misconfigured member refuses to start
// rather than failing every handshake later. ALPN picks "http/1.1" when the client
// offers it (curl, browsers: the gateway and /health) and "h2" otherwise (gRPC clients
// offer only h2), which is how one TLS port serves both.
//
// Threads: immutable after MakeServerTls; listeners share it across their I/O threads.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace boost::asio::ssl {
class context;
}

namespace etcpp::api {

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;  // empty: no client certificates are verified
  bool client_cert_auth = false;
  // A self-signed certificate made in memory at start when cert/key are not given
  // (--auto-tls); clients then need --insecure-skip-tls-verify, as with etcd.
  bool auto_tls = false;
};

using ServerTls = boost::asio::ssl::context;

// The TLS context for `url`'s listener: null for http://, an error for an https:// URL
// without usable certificates, with etcd's text. `side` is "client" or "peer" (the
// flag names in the error differ).
base::Result<std::shared_ptr<ServerTls>> ServerTlsFor(const std::string& url, const TlsFiles& files,
                                                     const std::string& side);

}  // namespace etcpp::api
