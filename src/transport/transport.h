// Transport: member-to-member communication on the peer URLs (DESIGN.md §3).
//
//   - Raft messages: one sender thread and one long-lived gRPC stream per peer. Messages
//     queued while a batch is on the wire leave together in the next batch, in order, so
//     many proposals share one network round. A broken stream is reported (raft then
//     probes the peer) and reopened with backoff; messages queued meanwhile are dropped,
//     which raft tolerates.
//   - Snapshots: MSG_SNAP goes on a path of its own, a stream of the backend file's
//     chunks, so a large transfer never delays heartbeats. The receiver writes the file
//     (fsynced) into the snap dir as "<index in 16 hex>.snap.db" before raft sees the
//     message.
//   - https:// peer URLs are dialled over TLS (PeerTls: etcd's --peer-trusted-ca-file,
//     --peer-cert-file and --peer-key-file, the certificate doubling as the client's).
//   - Every call carries the sender's cluster id; a receiver of another cluster refuses
//     it and logs `request cluster ID mismatch`.
//
// Threads: every method may be called from any thread. Handler callbacks run on
// transport threads (gRPC's and the senders') and must not block for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include <grpcpp/security/credentials.h>

#include "etcpp/peerpb.grpc.pb.h"
#include "etcpp/raftpb.pb.h"

namespace etcpp::transport {

struct Handler {
  // Raft messages from one peer, in the order it sent them.
  std::function<void(std::vector<raftpb::Message>)> receive;
  // A MSG_SNAP whose backend file is complete and durable at `db_path`.
  std::function<void(raftpb::Message, const std::string& db_path)> receive_snapshot;
  // Sending to `id` failed: raft should treat it as unreachable for now.
  std::function<void(uint64_t id)> unreachable;
  // A snapshot transfer to `id` ended.
  std::function<void(uint64_t id, bool ok)> snapshot_status;
  // Writes a consistent copy of the backend to `path` (the file a snapshot sends).
  std::function<base::Status(const std::string& path)> copy_backend;
  // The cluster as this member knows it, for a member about to join.
  std::function<peerpb::ClusterInfo()> cluster_info;
  // Whether learner `id` may be promoted (asked of this member when it leads).
  std::function<peerpb::LearnerReadyResponse(uint64_t id)> learner_ready;
  // A follower's lease calls, answered here when this member leads (else an error).
  std::function<base::Result<etcdserverpb::LeaseKeepAliveResponse>(const etcdserverpb::LeaseKeepAliveRequest&)>
      lease_keep_alive;
  std::function<base::Result<etcdserverpb::LeaseTimeToLiveResponse>(const etcdserverpb::LeaseTimeToLiveRequest&)>
      lease_time_to_live;
  // This member's hash of its keys up to `revision` (blocking; for a peer's corruption check).
  std::function<base::Result<etcdserverpb::HashKVResponse>(int64_t revision)> hash_kv;
  // Whether the cluster removed member `id` (its calls are then refused, and told so).
  std::function<bool(uint64_t id)> is_removed;
  // A peer refused this member as removed from the cluster.
  std::function<void()> removed;
  // A probe's round trip to peer `id` (etcd_network_peer_round_trip_time_seconds).
  std::function<void(uint64_t id, double seconds)> round_trip;
};

// How to dial https:// peers. Files are read when the Transport is made.
struct PeerTls {
  std::string trusted_ca_file;  // empty: the system roots
  std::string cert_file;        // presented to peers that ask (--peer-client-cert-auth)
  std::string key_file;
  bool skip_verify = false;     // --peer-auto-tls: peers' certificates are self-signed
};

class Transport {
 public:
  Transport(uint64_t cluster_id, uint64_t member_id, std::string snap_dir, Handler handler,
            const PeerTls& tls = {});
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The peer service, to be registered with the gRPC server on the peer listener.
  grpc::Service* service();

  // The members to talk to, by id, with their peer URLs (this member among them or not):
  // new ones get a sender, changed URLs apply to the next connection, the rest are closed.
  void SetPeers(const std::map<uint64_t, std::vector<std::string>>& peers);

  // Queues `messages` to their peers; MSG_SNAP goes through a snapshot transfer.
  void Send(std::vector<raftpb::Message> messages);

  // Asks peer `to` (the leader) whether learner `learner` may be promoted; blocks for at
  // most a few seconds.
  base::Result<peerpb::LearnerReadyResponse> AskLearnerReady(uint64_t to, uint64_t learner);

  // Hands a client's lease call to peer `to` (the leader); `done` runs on a gRPC thread.
  void ForwardLeaseKeepAlive(uint64_t to, const etcdserverpb::LeaseKeepAliveRequest& request,
                             std::function<void(base::Result<etcdserverpb::LeaseKeepAliveResponse>)> done);
  void ForwardLeaseTimeToLive(uint64_t to, const etcdserverpb::LeaseTimeToLiveRequest& request,
                              std::function<void(base::Result<etcdserverpb::LeaseTimeToLiveResponse>)> done);

  // Asks every peer for its hash of the keys up to `revision`, one after the other, each
  // within `timeout`; a peer's error (unreachable, behind, compacted) comes back as such.
  std::vector<std::pair<uint64_t, base::Result<etcdserverpb::HashKVResponse>>> PeerHashKVs(
      int64_t revision, std::chrono::milliseconds timeout);

  // Since when this member's stream to peer `id` has been up, on the steady clock; the
  // epoch (zero) while it is down or was never up. etcd's reconfiguration checks ask it.
  std::chrono::steady_clock::time_point ActiveSince(uint64_t id);

  // Closes every stream and joins the threads; later sends are dropped.
  void Stop();

  // Asks the members at `peer_urls`, in turn, for the cluster they belong to (a member
  // joining with --initial-cluster-state existing).
  static base::Result<peerpb::ClusterInfo> FetchCluster(const std::vector<std::string>& peer_urls,
                                                        const PeerTls& tls = {});

 private:
  class Peer;
  class Service;
  void SendSnapshot(raftpb::Message message);
  // A channel to peer `to`, kept for the forwarded calls; null for an unknown peer.
  std::shared_ptr<grpc::Channel> PeerChannel(uint64_t to);
  template <typename Request, typename Response, typename Start>
  void Forward(uint64_t to, const Request& request, std::function<void(base::Result<Response>)> done,
               Start start);

  const uint64_t cluster_id_;
  const uint64_t member_id_;
  const std::string snap_dir_;
  const Handler handler_;
  const std::shared_ptr<grpc::ChannelCredentials> tls_credentials_;  // for https:// peers
  std::unique_ptr<Service> service_;

  std::mutex mu_;
  bool stopped_ = false;                          // guarded by mu_
  std::map<uint64_t, std::unique_ptr<Peer>> peers_;  // guarded by mu_
  std::vector<std::thread> snapshot_senders_;     // guarded by mu_
};

// Where a received snapshot's backend file is kept until it is installed.
std::string SnapshotDbPath(const std::string& snap_dir, uint64_t index);

// "http://host:port" (or https) → "host:port" for gRPC; an error names the URL.
base::Result<std::string> GrpcTarget(const std::string& url);

}  // namespace etcpp::transport
