// txn: etcdctl's txn_command.go. Reads compares, then success and failure requests,
// each section ended by an empty line, from stdin (with prompts under --interactive).
#include <charconv>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "global.h"
#include "kv_ops.h"

namespace etcpp::ctl {
namespace {

using etcdserverpb::Compare;

// Reads one line as bufio.Reader.ReadString('\n') does: input that ends before a newline
// is an error ("EOF").
std::string ReadLine() {
  std::string line;
  if (!std::getline(std::cin, line) || std::cin.eof()) ExitWithError(kExitInvalidInput, "EOF");
  const size_t first = line.find_first_not_of(" \t\r\n\v\f");
  const size_t last = line.find_last_not_of(" \t\r\n\v\f");
  return first == std::string::npos ? "" : line.substr(first, last - first + 1);
}

// Go's strconv.Unquote for the double-quoted strings etcdctl accepts.
bool Unquote(const std::string& quoted, std::string* out) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return false;
  out->clear();
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c != '\\') {
      *out += c;
      continue;
    }
    if (++i + 1 >= quoted.size() + 1) return false;
    switch (quoted[i]) {
      case 'n': *out += '\n'; break;
      case 't': *out += '\t'; break;
      case 'r': *out += '\r'; break;
      case '\\': *out += '\\'; break;
      case '"': *out += '"'; break;
      case 'x': {
        if (i + 2 >= quoted.size() || !std::isxdigit(static_cast<unsigned char>(quoted[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(quoted[i + 2])))
          return false;
        *out += static_cast<char>(std::strtol(quoted.substr(i + 1, 2).c_str(), nullptr, 16));
        i += 2;
        break;
      }
      default: return false;
    }
  }
  return true;
}

// etcdctl's argify: words, "double-quoted" (Go escapes) or 'single-quoted' strings.
std::vector<std::string> Argify(const std::string& line) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < line.size()) {
    if (std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (line[i] == '"') {
      while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
      std::string value;
      const std::string token = line.substr(i, std::min(end + 1, line.size()) - i);
      if (!Unquote(token, &value)) ExitWithError(kExitInvalidInput, "unexpected EOF");
      args.push_back(value);
      i = end + 1;
    } else if (line[i] == '\'') {
      while (end < line.size() && line[end] != '\'') ++end;
      args.push_back(line.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
      args.push_back(line.substr(i, end - i));
      i = end;
    }
  }
  return args;
}

// Parses `target("key") op "value"` (etcdctl's parseCompare).
Compare ParseCompare(const std::string& line) {
  const std::string malformed = "malformed comparison: " + line;
  const size_t paren = line.find('(');
  if (paren == std::string::npos) ExitWithError(kExitInvalidInput, malformed);
  const std::string target = line.substr(0, paren);
  const size_t key_end = line.find("\")", paren);
  std::string key, value;
  if (key_end == std::string::npos || !Unquote(line.substr(paren + 1, key_end - paren), &key))
    ExitWithError(kExitInvalidInput, malformed);
  const std::vector<std::string> rest = Argify(line.substr(key_end + 2));
  if (rest.size() != 2) ExitWithError(kExitInvalidInput, malformed);
  const std::string& op = rest[0];
  value = rest[1];
  Compare compare;
  compare.set_key(key);
  if (op == "=") compare.set_result(Compare::EQUAL);
  else if (op == "!=") compare.set_result(Compare::NOT_EQUAL);
  else if (op == "<") compare.set_result(Compare::LESS);
  else if (op == ">") compare.set_result(Compare::GREATER);
  else ExitWithError(kExitInvalidInput, malformed + " (unknown op " + op + ")");
  int64_t number = 0;
  bool numeric = !value.empty() && value.find_first_not_of("-0123456789") == std::string::npos;
  if (numeric) numeric = std::from_chars(value.data(), value.data() + value.size(), number).ec == std::errc();
  const std::string invalid = "invalid txn compare request: " + line;
  if (target == "ver" || target == "version") {
    if (!numeric) ExitWithError(kExitInvalidInput, invalid);
    compare.set_target(Compare::VERSION);
    compare.set_version(number);
  } else if (target == "c" || target == "create") {
    if (!numeric) ExitWithError(kExitInvalidInput, invalid);
    compare.set_target(Compare::CREATE);
    compare.set_create_revision(number);
  } else if (target == "m" || target == "mod") {
    if (!numeric) ExitWithError(kExitInvalidInput, invalid);
    compare.set_target(Compare::MOD);
    compare.set_mod_revision(number);
  } else if (target == "val" || target == "value") {
    compare.set_target(Compare::VALUE);
    compare.set_value(value);
  } else if (target == "lease") {
    if (!numeric) ExitWithError(kExitInvalidInput, invalid);
    compare.set_target(Compare::LEASE);
    compare.set_lease(number);
  } else {
    ExitWithError(kExitInvalidInput, malformed + " (unknown target " + target + ")");
  }
  return compare;
}

// Parses one request line ("put k v", "get --prefix k", "del k") into a RequestOp.
etcdserverpb::RequestOp ParseRequest(const std::string& line) {
  const std::vector<std::string> args = Argify(line);
  if (args.size() < 2) ExitWithError(kExitInvalidInput, "invalid txn compare request: " + line);
  Command command;
  etcdserverpb::RequestOp op;
  const std::string& name = args[0];
  if (name == "get") AddGetFlags(command);
  else if (name == "put") AddPutFlags(command);
  else if (name == "del") AddDelFlags(command);
  else ExitWithError(kExitInvalidInput, "invalid txn request: " + line);
  std::vector<std::string> positional;
  std::string error;
  if (!ParseFlagsQuietly(command, {args.begin() + 1, args.end()}, &positional, &error))
    ExitWithError(kExitInvalidInput, "invalid txn request: " + line);
  if (name == "get") *op.mutable_request_range() = GetOp(command, positional);
  else if (name == "put") *op.mutable_request_put() = PutOp(command, positional);
  else *op.mutable_request_delete_range() = DelOp(command, positional);
  return op;
}

void TxnRun(Command& c, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "txn command does not accept argument");
  auto client = MustClient(c);
  const bool interactive = c.GetBool("interactive");
  etcdserverpb::TxnRequest request;
  if (interactive) std::cout << "compares:\n" << std::flush;
  for (std::string line = ReadLine(); !line.empty(); line = ReadLine()) *request.add_compare() = ParseCompare(line);
  if (interactive) std::cout << "success requests (get, put, del):\n" << std::flush;
  for (std::string line = ReadLine(); !line.empty(); line = ReadLine()) *request.add_success() = ParseRequest(line);
  if (interactive) std::cout << "failure requests (get, put, del):\n" << std::flush;
  for (std::string line = ReadLine(); !line.empty(); line = ReadLine()) *request.add_failure() = ParseRequest(line);
  auto response = client->Txn(request);
  if (!response.ok()) ExitWithError(kExitError, response.status().message());
  Display().Txn(*response);
}

}  // namespace

std::unique_ptr<Command> NewTxnCommand() {
  auto c = std::make_unique<Command>();
  c->use = "txn [options]";
  c->short_help = "Txn processes all the requests in one transaction";
  c->AddFlag("interactive", "i", FlagType::kBool, "false", "Input transaction in interactive mode");
  c->run = TxnRun;
  return c;
}

}  // namespace etcpp::ctl
