#include "kv_ops.h"

#include <unistd.h>

#include <charconv>
#include <iostream>
#include <iterator>

#include "client/client.h"
#include "global.h"

namespace etcpp::ctl {

using etcdserverpb::RangeRequest;

void AddGetFlags(Command& c) {
  using T = FlagType;
  c.AddFlag("consistency", "", T::kString, "l", "Linearizable(l) or Serializable(s)");
  c.AddFlag("order", "", T::kString, "", "Order of results; ASCEND or DESCEND (ASCEND by default)");
  c.AddFlag("sort-by", "", T::kString, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION");
  c.AddFlag("limit", "", T::kInt, "0", "Maximum number of results");
  c.AddFlag("prefix", "", T::kBool, "false", "Get keys with matching prefix");
  c.AddFlag("from-key", "", T::kBool, "false",
            "Get keys that are greater than or equal to the given key using byte compare");
  c.AddFlag("rev", "", T::kInt, "0", "Specify the kv revision");
  c.AddFlag("keys-only", "", T::kBool, "false", "Get only the keys");
  c.AddFlag("print-value-only", "", T::kBool, "false", "Only write values when using the \"simple\" output format");
}

void AddPutFlags(Command& c) {
  using T = FlagType;
  c.AddFlag("lease", "", T::kString, "0", "lease ID (in hexadecimal) to attach to the key");
  c.AddFlag("prev-kv", "", T::kBool, "false", "return the previous key-value pair before modification");
  c.AddFlag("ignore-value", "", T::kBool, "false", "updates the key using its current value");
  c.AddFlag("ignore-lease", "", T::kBool, "false", "updates the key using its current lease");
}

void AddDelFlags(Command& c) {
  using T = FlagType;
  c.AddFlag("prefix", "", T::kBool, "false", "delete keys with matching prefix");
  c.AddFlag("prev-kv", "", T::kBool, "false", "return deleted key-value pairs");
  c.AddFlag("from-key", "", T::kBool, "false",
            "delete keys that are greater than or equal to the given key using byte compare");
}

namespace {

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Sets key/range_end for --prefix / --from-key as clientv3's WithPrefix/WithFromKey do.
template <typename Request>
void ApplyRange(Request& request, bool prefix, bool from_key) {
  if (prefix) {
    if (request.key().empty()) {
      request.set_key(std::string(1, '\0'));
      request.set_range_end(std::string(1, '\0'));
    } else {
      request.set_range_end(client::PrefixRangeEnd(request.key()));
    }
  }
  if (from_key) {
    if (request.key().empty()) request.set_key(std::string(1, '\0'));
    request.set_range_end(std::string(1, '\0'));
  }
}

RangeRequest::SortTarget SortTarget(const std::string& text) {
  const std::string target = Upper(text);
  if (target == "CREATE") return RangeRequest::CREATE;
  if (target == "KEY" || target.empty()) return RangeRequest::KEY;
  if (target == "MODIFY") return RangeRequest::MOD;
  if (target == "VALUE") return RangeRequest::VALUE;
  if (target == "VERSION") return RangeRequest::VERSION;
  ExitWithError(kExitBadFeature, "bad sort target " + text);
}

}  // namespace

RangeRequest GetOp(Command& c, const std::vector<std::string>& args) {
  if (args.empty())
    ExitWithError(kExitBadArgs, "get command needs one argument as key and an optional argument as range_end");
  const bool prefix = c.GetBool("prefix"), from_key = c.GetBool("from-key");
  if (prefix && from_key)
    ExitWithError(kExitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  RangeRequest request;
  const std::string consistency = c.GetString("consistency");
  if (consistency == "s") request.set_serializable(true);
  else if (consistency != "l") ExitWithError(kExitBadFeature, "unknown consistency flag " + GoQuote(consistency));
  request.set_key(args[0]);
  if (args.size() > 1) {
    if (prefix || from_key)
      ExitWithError(kExitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    request.set_range_end(args[1]);
  }
  request.set_limit(c.GetInt("limit"));
  if (c.GetInt("rev") > 0) request.set_revision(c.GetInt("rev"));
  const std::string order = Upper(c.GetString("order"));
  RangeRequest::SortOrder sort_order = RangeRequest::NONE;
  if (order == "ASCEND") sort_order = RangeRequest::ASCEND;
  else if (order == "DESCEND") sort_order = RangeRequest::DESCEND;
  else if (!order.empty()) ExitWithError(kExitBadFeature, "bad sort order " + c.GetString("order"));
  const RangeRequest::SortTarget target = SortTarget(c.GetString("sort-by"));
  // clientv3's WithSort: ascending by key is the server's natural order, so it is sent
  // as "no sort" (a sort makes the server fetch the whole range before the limit).
  if (target == RangeRequest::KEY && sort_order == RangeRequest::ASCEND) sort_order = RangeRequest::NONE;
  request.set_sort_order(sort_order);
  request.set_sort_target(target);
  ApplyRange(request, prefix, from_key);
  if (c.GetBool("keys-only")) request.set_keys_only(true);
  return request;
}

etcdserverpb::PutRequest PutOp(Command& c, const std::vector<std::string>& args) {
  const std::string usage = "put command needs 1 argument and input from stdin or 2 arguments";
  if (args.empty()) ExitWithError(kExitBadArgs, usage);
  const bool ignore_value = c.GetBool("ignore-value");
  if (ignore_value && args.size() > 1)
    ExitWithError(kExitBadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  etcdserverpb::PutRequest request;
  request.set_key(args[0]);
  if (!ignore_value) {
    if (args.size() > 1) {
      request.set_value(args[1]);
    } else {
      std::string value((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      if (value.empty()) ExitWithError(kExitBadArgs, usage);
      request.set_value(value);
    }
  }
  const std::string lease = c.GetString("lease");
  int64_t id = 0;
  const auto [end, error] = std::from_chars(lease.data(), lease.data() + lease.size(), id, 16);
  if (lease.empty() || error != std::errc() || end != lease.data() + lease.size())
    ExitWithError(kExitBadArgs, "bad lease ID (strconv.ParseInt: parsing " + GoQuote(lease) +
                                    ": invalid syntax), expecting ID in Hex");
  request.set_lease(id);
  request.set_prev_kv(c.GetBool("prev-kv"));
  request.set_ignore_value(ignore_value);
  request.set_ignore_lease(c.GetBool("ignore-lease"));
  return request;
}

etcdserverpb::DeleteRangeRequest DelOp(Command& c, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2)
    ExitWithError(kExitBadArgs, "del command needs one argument as key and an optional argument as range_end");
  const bool prefix = c.GetBool("prefix"), from_key = c.GetBool("from-key");
  if (prefix && from_key)
    ExitWithError(kExitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(args[0]);
  if (args.size() > 1) {
    if (prefix || from_key)
      ExitWithError(kExitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    request.set_range_end(args[1]);
  }
  ApplyRange(request, prefix, from_key);
  request.set_prev_kv(c.GetBool("prev-kv"));
  return request;
}

}  // namespace etcpp::ctl
