#include "api/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "api/client_listener.h"

namespace etcpp::api {

namespace ssl = boost::asio::ssl;

namespace {

using base::Code;
using base::Status;

// Go's wording for a file it cannot read, which is what etcd prints.
base::Result<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string reason = std::strerror(errno);
    reason[0] = static_cast<char>(std::tolower(reason[0]));
    return Status(Code::kInvalidArgument, "open " + path + ": " + reason);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// "http/1.1" when offered (HTTP clients), else "h2" (gRPC clients offer only h2), else
// no ALPN at all: such a client is served HTTP/1.x, as Go's server would.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  static const unsigned char kPreferred[] = "\x08http/1.1\x02h2";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kPreferred, sizeof(kPreferred) - 1, in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// A P-256 key and a certificate signed by itself for `host`, valid for a year (etcd's
// --auto-tls makes the same kind).
Status UseSelfSignedCertificate(ssl::context& context, const std::string& host) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key && cert;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("etcd"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    bool ip = host.find_first_not_of("0123456789.:") == std::string::npos;
    std::string san = (ip ? "IP:" : "DNS:") + host;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    ok = ext && X509_add_ext(cert, ext, -1) && X509_sign(cert, key, EVP_sha256()) &&
         SSL_CTX_use_certificate(context.native_handle(), cert) == 1 &&
         SSL_CTX_use_PrivateKey(context.native_handle(), key) == 1;
    X509_EXTENSION_free(ext);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok ? Status::Ok() : Status(Code::kInternal, "cannot generate a self-signed certificate: " + OpenSslError());
}

Status UseFiles(ssl::context& context, const TlsFiles& files) {
  auto cert = ReadPem(files.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(files.key_file);
  if (!key.ok()) return key.status();
  boost::system::error_code ec;
  context.use_certificate_chain(boost::asio::buffer(*cert), ec);
  if (ec) return Status(Code::kInvalidArgument, "cannot load certificate " + files.cert_file + ": " + ec.message());
  context.use_private_key(boost::asio::buffer(*key), ssl::context::pem, ec);
  if (ec) return Status(Code::kInvalidArgument, "cannot load key " + files.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return Status(Code::kInvalidArgument, "certificate " + files.cert_file + " does not match key " +
                                              files.key_file + ": " + OpenSslError());
  }
  return Status::Ok();
}

}  // namespace

base::Result<std::shared_ptr<ServerTls>> ServerTlsFor(const std::string& url, const TlsFiles& files,
                                                     const std::string& side) {
  if (url.rfind("https://", 0) != 0) return std::shared_ptr<ServerTls>();
  const bool have_files = !files.cert_file.empty() && !files.key_file.empty();
  if (!have_files && !files.auto_tls) {
    if (side == "client") {
      return Status(Code::kInvalidArgument, "TLS key/cert (--cert-file, --key-file) must be provided for client url " +
                                                url + " with HTTPS scheme");
    }
    return Status(Code::kInvalidArgument, "KeyFile and CertFile must both be present[key: " + files.key_file +
                                              ", cert: " + files.cert_file + "]");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  // etcd's minimum is TLS 1.2.
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  if (have_files) {
    ETCPP_RETURN_IF_ERROR(UseFiles(*context, files));
  } else {
    auto host_port = ParseHostPort(url);
    if (!host_port.ok()) return host_port.status();
    ETCPP_RETURN_IF_ERROR(UseSelfSignedCertificate(*context, host_port->first));
  }
  if (!files.trusted_ca_file.empty()) {
    auto ca = ReadPem(files.trusted_ca_file);
    if (!ca.ok()) return ca.status();
    boost::system::error_code ec;
    context->add_certificate_authority(boost::asio::buffer(*ca), ec);
    if (ec) {
      return Status(Code::kInvalidArgument, "cannot load CA " + files.trusted_ca_file + ": " + ec.message());
    }
  }
  // Under client-cert-auth a client without a certificate signed by the trusted CA is
  // refused in the handshake; otherwise none is asked for (Go's NoClientCert).
  if (files.client_cert_auth) {
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  SSL_CTX_set_alpn_select_cb(context->native_handle(), SelectAlpn, nullptr);
  return context;
}

}  // namespace etcpp::api
