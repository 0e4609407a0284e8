// The rows etcdctl's simple and table printers share (its make*Table functions), and the
// small text helpers they need.
#pragma once

#include <string>
#include <vector>

#include "printer.h"

namespace etcpp::ctl {

using Rows = std::vector<std::vector<std::string>>;

void MemberListTable(const pb::MemberListResponse& r, std::vector<std::string>* header, Rows* rows);
void EndpointHealthTable(const std::vector<EndpointHealth>& list, std::vector<std::string>* header,
                         Rows* rows);
void EndpointStatusTable(const std::vector<EndpointStatus>& list, std::vector<std::string>* header,
                         Rows* rows);
void EndpointHashKVTable(const std::vector<EndpointHashKV>& list, std::vector<std::string>* header,
                         Rows* rows);
void DBStatusTable(const SnapshotStatus& status, std::vector<std::string>* header, Rows* rows);

// go-humanize's Bytes: SI units, "20 kB".
std::string HumanizeBytes(uint64_t bytes);
// Go's "%x" of an unsigned number.
std::string Hex(uint64_t value);
// Go's "%016x".
std::string Hex16(uint64_t value);
std::string Join(const std::vector<std::string>& parts, const std::string& separator);

// Renders rows as olekukonko/tablewriter does with etcdctl's settings (header centered
// and upper-cased, cells right-aligned).
std::string RenderTable(const std::vector<std::string>& header, const Rows& rows);

}  // namespace etcpp::ctl
