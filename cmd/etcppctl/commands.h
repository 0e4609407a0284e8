// The etcppctl command tree: one New*Command per etcdctl command (plus our extensions),
// each in the file of its family.
#pragma once

#include <memory>

#include "cli.h"

namespace etcpp::ctl {

std::unique_ptr<Command> NewRootCommand();

std::unique_ptr<Command> NewGetCommand();
std::unique_ptr<Command> NewPutCommand();
std::unique_ptr<Command> NewDelCommand();
std::unique_ptr<Command> NewTxnCommand();
std::unique_ptr<Command> NewCompactionCommand();
std::unique_ptr<Command> NewLsCommand();
std::unique_ptr<Command> NewLeaseCommand();
std::unique_ptr<Command> NewMemberCommand();
std::unique_ptr<Command> NewEndpointCommand();
std::unique_ptr<Command> NewAlarmCommand();
std::unique_ptr<Command> NewDefragCommand();
std::unique_ptr<Command> NewMoveLeaderCommand();
std::unique_ptr<Command> NewVersionCommand();
std::unique_ptr<Command> NewSnapshotCommand();
std::unique_ptr<Command> NewSnapshotRestoreCommand();
std::unique_ptr<Command> NewCheckCommand();
std::unique_ptr<Command> NewWatchCommand();
std::unique_ptr<Command> NewLockCommand();
std::unique_ptr<Command> NewElectCommand();
std::unique_ptr<Command> NewAuthCommand();
std::unique_ptr<Command> NewUserCommand();
std::unique_ptr<Command> NewRoleCommand();
std::unique_ptr<Command> NewMakeMirrorCommand();
std::unique_ptr<Command> NewCompletionCommand();

}  // namespace etcpp::ctl
