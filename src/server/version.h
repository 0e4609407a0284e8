// Versions etcpp reports. Clients gate features on the etcd version a server reports
// (clientv3 checks >= 3.4 for some calls), so we report the etcd API level we implement.
#pragma once

namespace etcpp::server {

inline constexpr const char* kEtcdVersion = "3.5.0";         // the etcd semantics served
inline constexpr const char* kEtcdClusterVersion = "3.5.0";  // /version's etcdcluster
inline constexpr const char* kEtcppVersion = "0.1.0";

}  // namespace etcpp::server
