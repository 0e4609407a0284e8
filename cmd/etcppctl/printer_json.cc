// etcdctl's JSON and protobuf printers (printer_json.go, printer_protobuf.go) and the
// format selection (NewPrinter).
//
// etcdctl prints Go structs with encoding/json: fields under their proto names, omitted
// when zero (omitempty), int64 as numbers, bytes as base64, enums as numbers, a oneof
// as {"<OneofName>":{"<FieldName>":...}} (Go names). The clientv3 wrappers of some responses (lease
// ones, watch) flatten or rename fields; those are written here by hand.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/text_format.h>

#include <set>
#include <iostream>
#include <sstream>

#include "global.h"
#include "printer_rows.h"

namespace etcpp::ctl {

std::unique_ptr<Printer> NewSimplePrinter(bool hex, bool value_only);
std::unique_ptr<Printer> NewFieldsPrinter();
std::unique_ptr<Printer> NewTablePrinter();

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Base64(const std::string& in) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kTable[(n >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += std::string{kTable[(n >> 18) & 63], kTable[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += std::string{kTable[(n >> 18) & 63], kTable[(n >> 12) & 63], kTable[(n >> 6) & 63], '='};
  }
  return out;
}

// encoding/json's string encoding, HTML-safe as Go's default.
std::string JsonString(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '<': case '>': case '&':
        out += "\\u00";
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kDigits[c >> 4];
          out += kDigits[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string CamelCase(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string JsonMessage(const Message& message);

std::string JsonScalar(const Message& m, const Reflection* r, const FieldDescriptor* f, int index) {
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_BOOL: return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return std::to_string(rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f));
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string s = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      return f->type() == FieldDescriptor::TYPE_BYTES ? "\"" + Base64(s) + "\"" : JsonString(s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return JsonMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
    default: return "null";
  }
}

// Fields etcd added after 3.4. etcdctl 3.4's Go structs lack them, so it drops them when
// a newer server (etcpp answers as 3.5) sends them; so do we.
bool UnknownToEtcdctl(const FieldDescriptor* f) {
  static const std::set<std::string> fields = {
      "etcdserverpb.HashKVResponse.hash_revision", "etcdserverpb.StatusResponse.storageVersion",
      "etcdserverpb.StatusResponse.dbSizeQuota", "etcdserverpb.StatusResponse.downgradeInfo"};
  return fields.count(f->full_name()) > 0;
}

std::string JsonMessage(const Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  std::string out = "{";
  bool first = true;
  auto emit = [&](const std::string& key, const std::string& value) {
    out += (first ? "" : ",") + JsonString(key) + ":" + value;
    first = false;
  };
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    if (UnknownToEtcdctl(f)) continue;
    if (const auto* oneof = f->real_containing_oneof()) {
      if (oneof->field(0) != f) continue;  // the oneof is written once, at its first field
      const FieldDescriptor* set = reflection->GetOneofFieldDescriptor(message, oneof);
      emit(CamelCase(oneof->name()),
           set == nullptr ? "null"
                          : "{" + JsonString(CamelCase(set->name())) + ":" + JsonScalar(message, reflection, set, 0) + "}");
      continue;
    }
    if (f->is_repeated()) {
      const int n = reflection->FieldSize(message, f);
      if (n == 0) continue;
      std::string list = "[";
      for (int k = 0; k < n; ++k) list += (k ? "," : "") + JsonScalar(message, reflection, f, k);
      emit(f->name(), list + "]");
      continue;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (reflection->HasField(message, f)) emit(f->name(), JsonScalar(message, reflection, f, 0));
      continue;
    }
    const std::string value = JsonScalar(message, reflection, f, 0);
    if (value == "0" || value == "false" || value == "\"\"") continue;  // omitempty
    emit(f->name(), value);
  }
  return out + "}";
}

// The fields of an embedded *pb.ResponseHeader, as Go flattens them into the wrapper.
std::string FlatHeader(const pb::ResponseHeader& h) {
  std::string header = JsonMessage(h);
  return header.size() > 2 ? header.substr(1, header.size() - 2) + "," : "";
}

class JsonPrinter : public Printer {
 public:
  void Grant(const pb::LeaseGrantResponse& r) override {
    std::cout << "{" << FlatHeader(r.header()) << "\"ID\":" << r.id() << ",\"TTL\":" << r.ttl()
              << ",\"Error\":" << JsonString(r.error()) << "}\n";
  }
  void KeepAlive(const pb::LeaseKeepAliveResponse& r) override {
    std::cout << "{" << FlatHeader(r.header()) << "\"ID\":" << r.id() << ",\"TTL\":" << r.ttl() << "}\n";
  }
  void TimeToLive(const pb::LeaseTimeToLiveResponse& r, bool) override {
    std::string keys = "null";
    if (r.keys_size() > 0) {
      keys = "[";
      for (int i = 0; i < r.keys_size(); ++i) keys += (i ? ",\"" : "\"") + Base64(r.keys(i)) + "\"";
      keys += "]";
    }
    std::cout << "{" << FlatHeader(r.header()) << "\"id\":" << r.id() << ",\"ttl\":" << r.ttl()
              << ",\"granted-ttl\":" << r.grantedttl() << ",\"keys\":" << keys << "}\n";
  }
  void Leases(const pb::LeaseLeasesResponse& r) override {
    std::string leases = "[";
    for (int i = 0; i < r.leases_size(); ++i) leases += (i ? ",{\"id\":" : "{\"id\":") + std::to_string(r.leases(i).id()) + "}";
    std::cout << "{" << FlatHeader(r.header()) << "\"leases\":" << leases + "]" << "}\n";  // clientv3 always makes the slice
  }
  void Watch(const pb::WatchResponse& r) override {
    std::string events = "null";
    if (r.events_size() > 0) {
      events = "[";
      for (int i = 0; i < r.events_size(); ++i) events += (i ? "," : "") + JsonMessage(r.events(i));
      events += "]";
    }
    std::cout << "{\"Header\":" << JsonMessage(r.header()) << ",\"Events\":" << events
              << ",\"CompactRevision\":" << r.compact_revision() << ",\"Canceled\":"
              << (r.canceled() ? "true" : "false") << ",\"Created\":" << (r.created() ? "true" : "false") << "}\n";
  }
  void EndpointHealthList(const std::vector<EndpointHealth>& list) override {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& h = list[i];
      out += (i ? ",{" : "{") + std::string("\"endpoint\":") + JsonString(h.endpoint) +
             ",\"health\":" + (h.health ? "true" : "false") + ",\"took\":" + JsonString(h.took) +
             (h.error.empty() ? "" : ",\"error\":" + JsonString(h.error)) + "}";
    }
    std::cout << out << "]\n";
  }
  void EndpointStatusList(const std::vector<EndpointStatus>& list) override {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i)
      out += (i ? "," : "") + std::string("{\"Endpoint\":") + JsonString(list[i].endpoint) +
             ",\"Status\":" + JsonMessage(list[i].status) + "}";
    std::cout << out << "]\n";
  }
  void EndpointHashKVList(const std::vector<EndpointHashKV>& list) override {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i)
      out += (i ? "," : "") + std::string("{\"Endpoint\":") + JsonString(list[i].endpoint) +
             ",\"HashKV\":" + JsonMessage(list[i].hash) + "}";
    std::cout << out << "]\n";
  }
  void DBStatus(const SnapshotStatus& s) override {
    std::cout << "{\"hash\":" << s.hash << ",\"revision\":" << s.revision << ",\"totalKey\":" << s.total_keys
              << ",\"totalSize\":" << s.total_size << "}\n";
  }

 protected:
  void Rpc(const Message& message) override { std::cout << JsonMessage(message) << "\n"; }
  void Unsupported() override { ExitWithError(kExitBadFeature, "json not supported as output format"); }
};

class ProtobufPrinter : public Printer {
 protected:
  void Rpc(const Message& message) override { std::cout << message.SerializeAsString(); }
  void Unsupported() override { ExitWithError(kExitBadFeature, "protobuf not supported as output format"); }
};

}  // namespace

std::unique_ptr<Printer> NewPrinter(const std::string& format, bool hex) {
  if (format == "simple") return NewSimplePrinter(hex, false);
  if (format == "fields") return NewFieldsPrinter();
  if (format == "json") return std::make_unique<JsonPrinter>();
  if (format == "protobuf") return std::make_unique<ProtobufPrinter>();
  if (format == "table") return NewTablePrinter();
  return nullptr;
}

std::unique_ptr<Printer> NewValueOnlyPrinter(const std::string& format, bool hex) {
  return format == "simple" ? NewSimplePrinter(hex, true) : nullptr;
}

std::string GoQuote(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size(); ++i) {
    const unsigned char c = bytes[i];
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    // A well-formed multi-byte UTF-8 sequence is printable text to Go; keep it.
    const int length = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool valid = length > 0 && i + length <= bytes.size();
    for (int k = 1; valid && k < length; ++k) valid = (uint8_t(bytes[i + k]) & 0xc0) == 0x80;
    if (valid) {
      out += bytes.substr(i, length);
      i += length - 1;
      continue;
    }
    out += "\\x";
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out + "\"";
}

std::string CompactText(const Message& message) {
  // golang/protobuf's CompactTextString: "name:value " per set field.
  std::string out;
  const auto* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    if (f->is_repeated() || !reflection->HasField(message, f)) continue;
    std::string value;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) value = reflection->GetEnum(message, f)->name();
    else google::protobuf::TextFormat::PrintFieldValueToString(message, f, -1, &value);
    out += f->name() + ":" + value + " ";
  }
  return out;
}

}  // namespace etcpp::ctl
