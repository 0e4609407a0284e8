// TLS channel credentials for gRPC clients, shared by the client library and the peer
// transport. Header-only: etcpp_base does not link gRPC, its users that include this do.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <memory>
#include <string>
#include <vector>

namespace etcpp::base {

// From PEM contents: the server verified against `ca` (empty: the system's roots), and
// `cert`/`key` presented when given; with `skip_verify`, any server certificate accepted.
inline std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const std::string& ca,
                                                                       const std::string& cert,
                                                                       const std::string& key,
                                                                       bool skip_verify) {
  if (!skip_verify) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ca;
    options.pem_cert_chain = cert;
    options.pem_private_key = key;
    return grpc::SslCredentials(options);
  }
  // Accepting any certificate needs gRPC's TLS credentials; SslCredentials always verify.
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  if (!cert.empty()) {
    options.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}}));
    options.watch_identity_key_cert_pairs();
  }
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace etcpp::base
