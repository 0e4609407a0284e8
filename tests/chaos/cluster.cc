#include "tests/chaos/cluster.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcpp::chaos {

namespace {

// The loopback address where member `from` reaches member `to` (itself when equal).
std::string PeerIp(int from, int to) { return "127.0." + std::to_string(from + 1) + "." + std::to_string(to + 1); }

std::string HostName(int member) { return "m" + std::to_string(member) + ".etcpp-chaos"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Cluster::Cluster(e2e::Server::Kind kind, const std::string& dir, int members, uint64_t seed)
    : kind_(kind), dir_(dir) {
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.data_dir = dir + "/" + m.name;
    m.peer_port = e2e::FreePort();
    m.client_port = e2e::FreePort();
    members_.push_back(std::move(m));
  }
  if (members == 1) return;
  proxies_ = std::make_unique<Proxies>(seed);
  std::string system_hosts = ReadAll("/etc/hosts");
  for (int i = 0; i < members; ++i) {
    std::ofstream hosts(dir + "/hosts-" + members_[i].name);
    for (int j = 0; j < members; ++j) {
      hosts << PeerIp(i, j) << " " << HostName(j) << "\n";
      // A failed listen shows up as a member that never becomes healthy.
      if (i != j) (void)proxies_->Add(i, j, PeerIp(i, j), PeerIp(j, j), members_[j].peer_port);
    }
    hosts << system_hosts;
  }
  proxies_->Start();
}

Cluster::~Cluster() {
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].server) continue;
    members_[i].server->Stop(SIGKILL);
    SaveLog(i);
  }
}

std::vector<std::string> Cluster::Argv(int member) const {
  const Member& m = members_[member];
  std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
  std::string binary = kind_ == e2e::Server::Kind::kEtcpp ? e2e::EtcppBinary() : "etcd";
  std::vector<std::string> log_flags = {"--logger", "zap", "--log-outputs", "stderr"};
  if (size() == 1) {
    std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> argv = {binary, "--name", m.name, "--data-dir", m.data_dir,
                                     "--listen-client-urls", client, "--advertise-client-urls", client,
                                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", m.name + "=" + peer};
    if (kind_ == e2e::Server::Kind::kEtcd) argv.insert(argv.end(), log_flags.begin(), log_flags.end());
    return argv;
  }
  std::string cluster;
  for (int j = 0; j < size(); ++j) cluster += (j ? "," : "") + members_[j].name + "=" + PeerUrl(j);
  std::vector<std::string> argv = {
      "unshare", "-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
      dir_ + "/hosts-" + m.name,
      binary,
      "--name", m.name,
      "--data-dir", m.data_dir,
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", "http://" + PeerIp(member, member) + ":" + std::to_string(m.peer_port),
      "--initial-advertise-peer-urls", PeerUrl(member),
      "--initial-cluster", cluster,
      "--initial-cluster-token", "etcpp-chaos",
      "--initial-cluster-state", m.joined ? "existing" : "new"};
  if (kind_ == e2e::Server::Kind::kEtcd) argv.insert(argv.end(), log_flags.begin(), log_flags.end());
  return argv;
}

std::string Cluster::PeerUrl(int member) const {
  return "http://" + HostName(member) + ":" + std::to_string(members_[member].peer_port);
}

bool Cluster::Launch(int member, const std::string& failpoints) {
  Member& m = members_[member];
  std::map<std::string, std::string> env;
  if (!failpoints.empty()) env["ETCPP_FAILPOINTS"] = failpoints;
  m.server = std::make_unique<e2e::Server>(Argv(member), m.data_dir + ".log", m.client_port, env);
  return m.server->Healthy();
}

bool Cluster::Restart(const std::vector<int>& members, const std::string& failpoints) {
  // Together: a member of a cluster is healthy only once a quorum is up.
  std::vector<char> healthy(members.size());
  std::vector<std::thread> threads;
  for (size_t k = 0; k < members.size(); ++k)
    threads.emplace_back([&, k] { healthy[k] = Launch(members[k], failpoints); });
  for (auto& t : threads) t.join();
  for (char h : healthy)
    if (!h) return false;
  return true;
}

bool Cluster::Start() {
  std::vector<int> all;
  for (int i = 0; i < size(); ++i) all.push_back(i);
  return Restart(all);
}

std::vector<std::string> Cluster::Endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back("127.0.0.1:" + std::to_string(m.client_port));
  return out;
}

void Cluster::Kill(const std::vector<int>& members) {
  for (int member : members) {
    members_[member].server->Stop(SIGKILL);
    SaveLog(member);
  }
}

bool Cluster::KillAndRestart(const std::vector<int>& members) {
  Kill(members);
  return Restart(members);
}

void Cluster::Pause(int member) { members_[member].server->Pause(); }

void Cluster::Resume(int member) { members_[member].server->Resume(); }

void Cluster::ResumeAll() {
  for (int i = 0; i < size(); ++i) Resume(i);
}

namespace {

// Runs `step` against each member but `except` in turn, every 200 ms, until one
// succeeds or `seconds` pass (a member may be restarting or electing).
bool Retry(const std::vector<std::string>& endpoints, int except, int seconds,
           const std::function<grpc::Status(etcdserverpb::Cluster::Stub&, grpc::ClientContext&)>& step,
           std::string& last_error) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    for (size_t j = 0; j < endpoints.size(); ++j) {
      if (static_cast<int>(j) == except) continue;
      auto stub = etcdserverpb::Cluster::NewStub(grpc::CreateChannel(endpoints[j], grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      grpc::Status status = step(*stub, context);
      if (status.ok()) return true;
      last_error = status.error_message();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

}  // namespace

bool Cluster::Replace(int member, std::string& failure) {
  Member& m = members_[member];
  bool removed = Retry(Endpoints(), member, 20, [&](etcdserverpb::Cluster::Stub& stub, grpc::ClientContext& context) {
    etcdserverpb::MemberListResponse list;
    grpc::Status status = stub.MemberList(&context, etcdserverpb::MemberListRequest(), &list);
    if (!status.ok()) return status;
    for (const auto& listed : list.members()) {
      if (listed.peerurls_size() == 0 || listed.peerurls(0) != PeerUrl(member)) continue;
      grpc::ClientContext remove_context;
      remove_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      etcdserverpb::MemberRemoveRequest request;
      request.set_id(listed.id());
      etcdserverpb::MemberRemoveResponse response;
      return stub.MemberRemove(&remove_context, request, &response);
    }
    return grpc::Status::OK;  // already removed (an earlier try's answer was lost)
  }, failure);
  if (!removed) return failure = "remove: " + failure, false;
  Kill({member});
  std::error_code error;
  std::filesystem::remove_all(m.data_dir, error);
  // A retried add whose first answer was lost finds its peer URL taken: that is success.
  bool added = Retry(Endpoints(), member, 20, [&](etcdserverpb::Cluster::Stub& stub, grpc::ClientContext& context) {
    etcdserverpb::MemberAddRequest request;
    request.add_peerurls(PeerUrl(member));
    etcdserverpb::MemberAddResponse response;
    grpc::Status status = stub.MemberAdd(&context, request, &response);
    if (status.error_message().find("Peer URLs already exists") != std::string::npos) return grpc::Status::OK;
    return status;
  }, failure);
  if (!added) return failure = "add: " + failure, false;
  m.joined = true;
  if (!Launch(member, "")) return failure = "the new member did not become healthy", false;
  return true;
}

int Cluster::Leader() {
  std::map<uint64_t, int> index_of;
  std::map<uint64_t, int> votes;  // leader id -> members that name it
  for (int i = 0; i < size(); ++i) {
    auto maintenance = etcdserverpb::Maintenance::NewStub(
        grpc::CreateChannel(Endpoints()[i], grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    etcdserverpb::StatusResponse response;
    if (!maintenance->Status(&context, etcdserverpb::StatusRequest(), &response).ok()) continue;
    index_of[response.header().member_id()] = i;
    if (response.leader() != 0) ++votes[response.leader()];
  }
  int leader = -1, most = 0;
  for (auto [id, count] : votes) {
    if (count > most && index_of.count(id)) leader = index_of[id], most = count;
  }
  return leader;
}

std::string Cluster::SavedLogPath(int member) const { return dir_ + "/" + members_[member].name + ".all.log"; }

std::string Cluster::Log(int member) const {
  const auto& server = members_[member].server;
  return ReadAll(SavedLogPath(member)) + (server ? server->Log() : "");
}

void Cluster::SaveLog(int member) {
  std::ofstream out(SavedLogPath(member), std::ios::app);
  out << members_[member].server->Log() << "---- process ended ----\n";
}

}  // namespace etcpp::chaos
