// auth, user and role commands: etcdctl's auth_command.go, user_command.go,
// role_command.go (plus `auth status`, which etcdctl 3.5 has).
#include <unistd.h>

#include <iostream>

#include "client/client.h"
#include "commands.h"
#include "global.h"

namespace etcpp::ctl {
namespace {

void Check(const base::Status& status) {
  if (!status.ok()) ExitWithError(kExitError, status.message());
}

void AuthEnableRun(Command& c, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "auth enable command does not accept any arguments");
  auto client = MustClient(c);
  for (;;) {
    auto enabled = client->AuthEnable(etcdserverpb::AuthEnableRequest());
    if (enabled.ok()) break;
    // As etcdctl: create the root role on demand, then try again.
    if (enabled.status().message() != "etcdserver: root user does not have root role") Check(enabled.status());
    etcdserverpb::AuthRoleAddRequest role;
    role.set_name("root");
    Check(client->RoleAdd(role).status());
    etcdserverpb::AuthUserGrantRoleRequest grant;
    grant.set_user("root");
    grant.set_role("root");
    Check(client->UserGrantRole(grant).status());
  }
  std::cout << "Authentication Enabled\n";
}

void AuthDisableRun(Command& c, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "auth disable command does not accept any arguments");
  Check(MustClient(c)->AuthDisable(etcdserverpb::AuthDisableRequest()).status());
  std::cout << "Authentication Disabled\n";
}

std::string ReadPasswordInteractive(const std::string& name) {
  const char* first = getpass(("Password of " + name + ": ").c_str());
  const std::string password = first == nullptr ? "" : first;
  if (password.empty()) ExitWithError(kExitBadArgs, "empty password");
  const char* second = getpass(("Type password of " + name + " again for confirmation: ").c_str());
  if (second == nullptr || password != second) ExitWithError(kExitBadArgs, "given passwords are different");
  return password;
}

// fmt.Scanf("%s"): the first whitespace-separated word of stdin.
std::string ReadPasswordFromStdin() {
  std::string word;
  std::cin >> word;
  return word;
}

void UserAddRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "user add command requires user name as its argument");
  etcdserverpb::AuthUserAddRequest request;
  request.set_name(args[0]);
  if (c.GetBool("no-password")) {
    request.mutable_options()->set_no_password(true);
  } else if (!c.GetString("new-user-password").empty()) {
    request.set_password(c.GetString("new-user-password"));
  } else if (const size_t colon = args[0].find(':'); colon != std::string::npos) {
    request.set_name(args[0].substr(0, colon));
    request.set_password(args[0].substr(colon + 1));
    if (request.name().empty()) ExitWithError(kExitBadArgs, "empty user name is not allowed");
  } else {
    request.set_password(c.GetBool("interactive") ? ReadPasswordInteractive(args[0]) : ReadPasswordFromStdin());
  }
  auto response = MustClient(c)->UserAdd(request);
  Check(response.status());
  Display().UserAdd(request.name(), *response);
}

void UserDeleteRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "user delete command requires user name as its argument");
  etcdserverpb::AuthUserDeleteRequest request;
  request.set_name(args[0]);
  auto response = MustClient(c)->UserDelete(request);
  Check(response.status());
  Display().UserDelete(args[0], *response);
}

void UserGetRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "user get command requires user name as its argument");
  auto client = MustClient(c);
  etcdserverpb::AuthUserGetRequest request;
  request.set_name(args[0]);
  auto response = client->UserGet(request);
  Check(response.status());
  if (!c.GetBool("detail")) {
    Display().UserGet(args[0], *response);
    return;
  }
  std::cout << "User: " << args[0] << "\n";
  for (const auto& role : response->roles()) {
    std::cout << "\n";
    etcdserverpb::AuthRoleGetRequest role_request;
    role_request.set_role(role);
    auto role_response = client->RoleGet(role_request);
    Check(role_response.status());
    Display().RoleGet(role, *role_response);
  }
}

void UserListRun(Command& c, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "user list command requires no arguments");
  auto response = MustClient(c)->UserList(etcdserverpb::AuthUserListRequest());
  Check(response.status());
  Display().UserList(*response);
}

void UserPasswdRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "user passwd command requires user name as its argument");
  etcdserverpb::AuthUserChangePasswordRequest request;
  request.set_name(args[0]);
  request.set_password(c.GetBool("interactive") ? ReadPasswordInteractive(args[0]) : ReadPasswordFromStdin());
  auto response = MustClient(c)->UserChangePassword(request);
  Check(response.status());
  Display().UserChangePassword(*response);
}

void UserRoleRun(Command& c, const std::vector<std::string>& args, bool grant) {
  if (args.size() != 2)
    ExitWithError(kExitBadArgs, grant ? "user grant command requires user name and role name as its argument"
                                      : "user revoke-role requires user name and role name as its argument");
  auto client = MustClient(c);
  if (grant) {
    etcdserverpb::AuthUserGrantRoleRequest request;
    request.set_user(args[0]);
    request.set_role(args[1]);
    auto response = client->UserGrantRole(request);
    Check(response.status());
    Display().UserGrantRole(args[0], args[1], *response);
    return;
  }
  etcdserverpb::AuthUserRevokeRoleRequest request;
  request.set_name(args[0]);
  request.set_role(args[1]);
  auto response = client->UserRevokeRole(request);
  Check(response.status());
  Display().UserRevokeRole(args[0], args[1], *response);
}

void RoleNameRun(Command& c, const std::vector<std::string>& args, const std::string& verb) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "role " + verb + " command requires role name as its argument");
  auto client = MustClient(c);
  if (verb == "add") {
    etcdserverpb::AuthRoleAddRequest request;
    request.set_name(args[0]);
    auto response = client->RoleAdd(request);
    Check(response.status());
    Display().RoleAdd(args[0], *response);
  } else if (verb == "delete") {
    etcdserverpb::AuthRoleDeleteRequest request;
    request.set_role(args[0]);
    auto response = client->RoleDelete(request);
    Check(response.status());
    Display().RoleDelete(args[0], *response);
  } else {
    etcdserverpb::AuthRoleGetRequest request;
    request.set_role(args[0]);
    auto response = client->RoleGet(request);
    Check(response.status());
    Display().RoleGet(args[0], *response);
  }
}

void RoleListRun(Command& c, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "role list command requires no arguments");
  auto response = MustClient(c)->RoleList(etcdserverpb::AuthRoleListRequest());
  Check(response.status());
  Display().RoleList(*response);
}

// etcdctl's permRange: the key and range end a permission covers.
std::pair<std::string, std::string> PermissionRange(Command& c, const std::vector<std::string>& args) {
  const bool prefix = c.GetBool("prefix"), from_key = c.GetBool("from-key");
  const std::string exclusive = "--from-key and --prefix flags are mutually exclusive";
  if (args[0].empty()) {
    if (prefix && from_key) ExitWithError(kExitBadArgs, exclusive);
    return {std::string(1, '\0'), prefix || from_key ? std::string(1, '\0') : ""};
  }
  if (args.size() == 1) {
    if (prefix && from_key) ExitWithError(kExitBadArgs, exclusive);
    if (prefix) return {args[0], client::PrefixRangeEnd(args[0])};
    return {args[0], from_key ? std::string(1, '\0') : ""};
  }
  if (prefix) ExitWithError(kExitBadArgs, "unexpected endkey argument with --prefix flag");
  if (from_key) ExitWithError(kExitBadArgs, "unexpected endkey argument with --from-key flag");
  return {args[0], args[1]};
}

void GrantPermissionRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() < 3)
    ExitWithError(kExitBadArgs,
                  "role grant command requires role name, permission type, and key [endkey] as its argument");
  std::string type = args[1];
  for (auto& ch : type) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  authpb::Permission::Type permission;
  if (!authpb::Permission::Type_Parse(type, &permission))
    ExitWithError(kExitBadArgs, "invalid permission type: " + args[1]);
  const auto [key, end] = PermissionRange(c, {args.begin() + 2, args.end()});
  etcdserverpb::AuthRoleGrantPermissionRequest request;
  request.set_name(args[0]);
  request.mutable_perm()->set_permtype(permission);
  request.mutable_perm()->set_key(key);
  request.mutable_perm()->set_range_end(end);
  auto response = MustClient(c)->RoleGrantPermission(request);
  Check(response.status());
  Display().RoleGrantPermission(args[0], *response);
}

void RevokePermissionRun(Command& c, const std::vector<std::string>& args) {
  if (args.size() < 2)
    ExitWithError(kExitBadArgs, "role revoke-permission command requires role name and key [endkey] as its argument");
  const auto [key, end] = PermissionRange(c, {args.begin() + 1, args.end()});
  etcdserverpb::AuthRoleRevokePermissionRequest request;
  request.set_role(args[0]);
  request.set_key(key);
  request.set_range_end(end);
  auto response = MustClient(c)->RoleRevokePermission(request);
  Check(response.status());
  Display().RoleRevokePermission(args[0], args[1], end, *response);
}

}  // namespace

std::unique_ptr<Command> NewAuthCommand() {
  auto auth = MakeCommand("auth <enable or disable>", "Enable or disable authentication", nullptr);
  auth->Add(MakeCommand("enable", "Enables authentication", AuthEnableRun));
  auth->Add(MakeCommand("disable", "Disables authentication", AuthDisableRun));
  return auth;
}

std::unique_ptr<Command> NewUserCommand() {
  auto user = MakeCommand("user <subcommand>", "User related commands", nullptr);
  auto& add = user->Add(MakeCommand("add <user name or user:password> [options]", "Adds a new user", UserAddRun));
  add.AddFlag("interactive", "", FlagType::kBool, "true", "Read password from stdin instead of interactive terminal");
  add.AddFlag("new-user-password", "", FlagType::kString, "", "Supply password from the command line flag");
  add.AddFlag("no-password", "", FlagType::kBool, "false", "Create a user without password (CN based auth only)");
  user->Add(MakeCommand("delete <user name>", "Deletes a user", UserDeleteRun));
  auto& get = user->Add(MakeCommand("get <user name> [options]", "Gets detailed information of a user", UserGetRun));
  get.AddFlag("detail", "", FlagType::kBool, "false", "Show permissions of roles granted to the user");
  user->Add(MakeCommand("list", "Lists all users", UserListRun));
  auto& passwd = user->Add(MakeCommand("passwd <user name> [options]", "Changes password of user", UserPasswdRun));
  passwd.AddFlag("interactive", "", FlagType::kBool, "true",
                 "If true, read password from stdin instead of interactive terminal");
  user->Add(MakeCommand("grant-role <user name> <role name>", "Grants a role to a user",
                        [](Command& c, const std::vector<std::string>& a) { UserRoleRun(c, a, true); }));
  user->Add(MakeCommand("revoke-role <user name> <role name>", "Revokes a role from a user",
                        [](Command& c, const std::vector<std::string>& a) { UserRoleRun(c, a, false); }));
  return user;
}

std::unique_ptr<Command> NewRoleCommand() {
  auto role = MakeCommand("role <subcommand>", "Role related commands", nullptr);
  role->Add(MakeCommand("add <role name>", "Adds a new role",
                        [](Command& c, const std::vector<std::string>& a) { RoleNameRun(c, a, "add"); }));
  role->Add(MakeCommand("delete <role name>", "Deletes a role",
                        [](Command& c, const std::vector<std::string>& a) { RoleNameRun(c, a, "delete"); }));
  role->Add(MakeCommand("get <role name>", "Gets detailed information of a role",
                        [](Command& c, const std::vector<std::string>& a) { RoleNameRun(c, a, "get"); }));
  role->Add(MakeCommand("list", "Lists all roles", RoleListRun));
  auto& grant = role->Add(MakeCommand("grant-permission [options] <role name> <permission type> <key> [endkey]",
                                      "Grants a key to a role", GrantPermissionRun));
  grant.AddFlag("prefix", "", FlagType::kBool, "false", "grant a prefix permission");
  grant.AddFlag("from-key", "", FlagType::kBool, "false",
                "grant a permission of keys that are greater than or equal to the given key using byte compare");
  auto& revoke = role->Add(MakeCommand("revoke-permission <role name> <key> [endkey]", "Revokes a key from a role",
                                       RevokePermissionRun));
  revoke.AddFlag("prefix", "", FlagType::kBool, "false", "revoke a prefix permission");
  revoke.AddFlag("from-key", "", FlagType::kBool, "false",
                 "revoke a permission of keys that are greater than or equal to the given key using byte compare");
  return role;
}

}  // namespace etcpp::ctl
