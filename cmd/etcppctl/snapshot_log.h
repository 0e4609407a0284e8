// The zap JSON lines etcdctl's snapshot commands log on stderr, shared by save and
// restore.
#pragma once

#include <string>

namespace etcpp::ctl {

// One info line: `fields` is appended as is (",\"path\":\"x\""). etcdctl's snapshot
// package stamps its lines with epoch seconds, the client's maintenance code with
// ISO-8601 time (`iso_time`).
void LogInfo(const std::string& caller, const std::string& message, const std::string& fields, bool iso_time);

}  // namespace etcpp::ctl
