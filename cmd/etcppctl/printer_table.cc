#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {

std::string Hex(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIx64, value);
  return buf;
}

std::string Hex16(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, value);
  return buf;
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

std::string HumanizeBytes(uint64_t bytes) {
  static const char* kSizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  char buf[64];
  if (bytes < 10) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
    return buf;
  }
  const int e = static_cast<int>(std::floor(std::log(static_cast<double>(bytes)) / std::log(1000.0)));
  const double value = std::floor(static_cast<double>(bytes) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  std::snprintf(buf, sizeof buf, value < 10 ? "%.1f %s" : "%.0f %s", value, kSizes[e]);
  return buf;
}

void MemberListTable(const pb::MemberListResponse& r, std::vector<std::string>* header, Rows* rows) {
  *header = {"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"};
  for (const auto& m : r.members()) {
    rows->push_back({Hex(m.id()), m.name().empty() ? "unstarted" : "started", m.name(),
                     Join({m.peerurls().begin(), m.peerurls().end()}, ","),
                     Join({m.clienturls().begin(), m.clienturls().end()}, ","),
                     m.islearner() ? "true" : "false"});
  }
}

void EndpointHealthTable(const std::vector<EndpointHealth>& list, std::vector<std::string>* header,
                         Rows* rows) {
  *header = {"endpoint", "health", "took", "error"};
  for (const auto& h : list) rows->push_back({h.endpoint, h.health ? "true" : "false", h.took, h.error});
}

void EndpointStatusTable(const std::vector<EndpointStatus>& list, std::vector<std::string>* header,
                         Rows* rows) {
  *header = {"endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term",
             "raft index", "raft applied index", "errors"};
  for (const auto& e : list) {
    const auto& s = e.status;
    rows->push_back({e.endpoint, Hex(s.header().member_id()), s.version(),
                     HumanizeBytes(static_cast<uint64_t>(s.dbsize())),
                     s.leader() == s.header().member_id() ? "true" : "false",
                     s.islearner() ? "true" : "false", std::to_string(s.raftterm()),
                     std::to_string(s.raftindex()), std::to_string(s.raftappliedindex()),
                     Join({s.errors().begin(), s.errors().end()}, ", ")});
  }
}

void EndpointHashKVTable(const std::vector<EndpointHashKV>& list, std::vector<std::string>* header,
                         Rows* rows) {
  *header = {"endpoint", "hash"};
  for (const auto& h : list) rows->push_back({h.endpoint, std::to_string(h.hash.hash())});
}

void DBStatusTable(const SnapshotStatus& status, std::vector<std::string>* header, Rows* rows) {
  *header = {"hash", "revision", "total keys", "total size"};
  rows->push_back({Hex(status.hash), std::to_string(status.revision), std::to_string(status.total_keys),
                   HumanizeBytes(static_cast<uint64_t>(status.total_size))});
}

namespace {

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string RenderTable(const std::vector<std::string>& header, const Rows& rows) {
  std::vector<size_t> widths;
  for (const auto& h : header) widths.push_back(Width(h));
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  std::string line = "+";
  for (size_t w : widths) line += std::string(w + 2, '-') + "+";
  line += "\n";
  std::string out = line + "|";
  for (size_t i = 0; i < header.size(); ++i) {
    const size_t gap = widths[i] - Width(header[i]);
    out += " " + std::string(gap / 2, ' ') + Upper(header[i]) + std::string(gap - gap / 2, ' ') + " |";
  }
  out += "\n" + line;
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += " " + std::string(widths[i] - Width(cell), ' ') + cell + " |";
    }
    out += "\n";
  }
  return out + line;
}

namespace {

class TablePrinter : public Printer {
 public:
  void MemberList(const pb::MemberListResponse& r) override {
    std::vector<std::string> header;
    Rows rows;
    MemberListTable(r, &header, &rows);
    std::cout << RenderTable(header, rows);
  }
  void EndpointHealthList(const std::vector<EndpointHealth>& list) override {
    std::vector<std::string> header;
    Rows rows;
    EndpointHealthTable(list, &header, &rows);
    std::cout << RenderTable(header, rows);
  }
  void EndpointStatusList(const std::vector<EndpointStatus>& list) override {
    std::vector<std::string> header;
    Rows rows;
    EndpointStatusTable(list, &header, &rows);
    std::cout << RenderTable(header, rows);
  }
  void EndpointHashKVList(const std::vector<EndpointHashKV>& list) override {
    std::vector<std::string> header;
    Rows rows;
    EndpointHashKVTable(list, &header, &rows);
    std::cout << RenderTable(header, rows);
  }
  void DBStatus(const SnapshotStatus& status) override {
    std::vector<std::string> header;
    Rows rows;
    DBStatusTable(status, &header, &rows);
    std::cout << RenderTable(header, rows);
  }

 protected:
  void Rpc(const google::protobuf::Message&) override { Unsupported(); }
  void Unsupported() override { ExitWithError(kExitBadFeature, "table not supported as output format"); }
};

}  // namespace

std::unique_ptr<Printer> NewTablePrinter() { return std::make_unique<TablePrinter>(); }

}  // namespace etcpp::ctl
