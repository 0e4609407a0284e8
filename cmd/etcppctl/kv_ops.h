// Building KV requests from command arguments, shared by get/put/del and the request
// lines of txn (etcdctl's getGetOp, getPutOp, getDelOp). Bad arguments exit as etcdctl.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcpp::ctl {

void AddGetFlags(Command& command);
void AddPutFlags(Command& command);
void AddDelFlags(Command& command);

etcdserverpb::RangeRequest GetOp(Command& command, const std::vector<std::string>& args);
etcdserverpb::PutRequest PutOp(Command& command, const std::vector<std::string>& args);
etcdserverpb::DeleteRangeRequest DelOp(Command& command, const std::vector<std::string>& args);

}  // namespace etcpp::ctl
