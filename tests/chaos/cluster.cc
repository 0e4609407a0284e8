#include "tests/chaos/cluster.h"

#include <signal.h>

#include <fstream>
#include <sstream>

namespace etcpp::chaos {

Cluster::Cluster(e2e::Server::Kind kind, const std::string& dir, int members) : kind_(kind), dir_(dir) {
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.data_dir = dir + "/" + m.name;
    m.peer_port = e2e::FreePort();
    m.client_port = e2e::FreePort();
    members_.push_back(std::move(m));
  }
}

Cluster::~Cluster() {
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].server) continue;
    members_[i].server->Stop(SIGKILL);
    SaveLog(i);
  }
}

bool Cluster::Launch(Member& member) {
  member.server = std::make_unique<e2e::Server>(kind_, member.data_dir, std::vector<std::string>{},
                                                member.peer_port, member.name, member.client_port);
  return member.server->Healthy();
}

bool Cluster::Start() {
  bool healthy = true;
  for (auto& m : members_) healthy = Launch(m) && healthy;
  return healthy;
}

std::vector<std::string> Cluster::Endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back("127.0.0.1:" + std::to_string(m.client_port));
  return out;
}

bool Cluster::KillAndRestart(int member) {
  Member& m = members_[member];
  m.server->Stop(SIGKILL);
  SaveLog(member);
  return Launch(m);
}

void Cluster::Pause(int member) { members_[member].server->Pause(); }

void Cluster::Resume(int member) { members_[member].server->Resume(); }

void Cluster::ResumeAll() {
  for (int i = 0; i < size(); ++i) Resume(i);
}

std::string Cluster::SavedLogPath(int member) const {
  return dir_ + "/" + members_[member].name + ".all.log";
}

std::string Cluster::Log(int member) const {
  std::ifstream in(SavedLogPath(member), std::ios::binary);
  std::stringstream saved;
  saved << in.rdbuf();
  const auto& server = members_[member].server;
  return saved.str() + (server ? server->Log() : "");
}

void Cluster::SaveLog(int member) {
  std::ofstream out(SavedLogPath(member), std::ios::app);
  out << members_[member].server->Log() << "---- process ended ----\n";
}

}  // namespace etcpp::chaos
