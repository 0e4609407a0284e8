// The wire contract: every service, method, message, field and enum value of etcd's
// reference .proto files (Debian's golang-etcd-server-dev, etcd 3.4) must exist in
// ours with the same name, number, type, label, JSON name and streaming flags, and the
// 3.5/3.6 additions Debian's copy lacks must be there too. Real clients speak exactly
// this, so a difference is a broken client, not a style question.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace etcpp::proto {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;
using google::protobuf::ServiceDescriptor;

// The packages that make up etcd's client API; gogoproto and googleapis are only
// imported by the reference and are not part of the wire format.
const std::set<std::string> kApiPackages = {"mvccpb", "authpb", "etcdserverpb", "v3electionpb",
                                            "v3lockpb"};

FileDescriptorSet ReadSet(const char* path) {
  FileDescriptorSet set;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in && set.ParseFromIstream(&in)) << "cannot read descriptor set " << path;
  return set;
}

std::unique_ptr<DescriptorPool> BuildPool(const FileDescriptorSet& set) {
  auto pool = std::make_unique<DescriptorPool>();
  for (const FileDescriptorProto& file : set.file()) {
    EXPECT_NE(pool->BuildFile(file), nullptr) << "cannot build " << file.name();
  }
  return pool;
}

std::string TypeOf(const FieldDescriptor* f) {
  if (f->message_type()) return f->message_type()->full_name();
  if (f->enum_type()) return f->enum_type()->full_name();
  return f->type_name();
}

// Compares the reference against ours; each difference is one readable line.
class Comparison {
 public:
  explicit Comparison(const DescriptorPool& ours) : ours_(ours) {}

  void File(const google::protobuf::FileDescriptor* file) {
    for (int i = 0; i < file->enum_type_count(); ++i) Enum(file->enum_type(i));
    for (int i = 0; i < file->message_type_count(); ++i) Message(file->message_type(i));
    for (int i = 0; i < file->service_count(); ++i) Service(file->service(i));
  }

  const std::vector<std::string>& differences() const { return differences_; }

 private:
  void Message(const Descriptor* ref) {
    const Descriptor* our = ours_.FindMessageTypeByName(ref->full_name());
    if (!our) return Missing("message " + ref->full_name());
    for (int i = 0; i < ref->enum_type_count(); ++i) Enum(ref->enum_type(i));
    for (int i = 0; i < ref->nested_type_count(); ++i) Message(ref->nested_type(i));
    for (int i = 0; i < ref->field_count(); ++i) Field(ref->field(i), our);
  }

  void Field(const FieldDescriptor* ref, const Descriptor* our_message) {
    const FieldDescriptor* our = our_message->FindFieldByName(ref->name());
    if (!our) return Missing("field " + ref->full_name());
    Expect(ref->full_name() + " number", ref->number(), our->number());
    Expect(ref->full_name() + " type", TypeOf(ref), TypeOf(our));
    Expect(ref->full_name() + " label", static_cast<int>(ref->label()),
           static_cast<int>(our->label()));
    Expect(ref->full_name() + " json name", ref->json_name(), our->json_name());
    std::string ref_oneof = ref->real_containing_oneof() ? ref->real_containing_oneof()->name() : "";
    std::string our_oneof = our->real_containing_oneof() ? our->real_containing_oneof()->name() : "";
    Expect(ref->full_name() + " oneof", ref_oneof, our_oneof);
  }

  void Enum(const EnumDescriptor* ref) {
    const EnumDescriptor* our = ours_.FindEnumTypeByName(ref->full_name());
    if (!our) return Missing("enum " + ref->full_name());
    for (int i = 0; i < ref->value_count(); ++i) {
      const auto* value = ref->value(i);
      const auto* our_value = our->FindValueByName(value->name());
      if (!our_value) {
        Missing("enum value " + value->full_name());
        continue;
      }
      Expect(value->full_name() + " number", value->number(), our_value->number());
    }
  }

  void Service(const ServiceDescriptor* ref) {
    const ServiceDescriptor* our = ours_.FindServiceByName(ref->full_name());
    if (!our) return Missing("service " + ref->full_name());
    for (int i = 0; i < ref->method_count(); ++i) {
      const auto* method = ref->method(i);
      const auto* our_method = our->FindMethodByName(method->name());
      if (!our_method) {
        Missing("method " + method->full_name());
        continue;
      }
      const std::string& name = method->full_name();
      Expect(name + " input", method->input_type()->full_name(),
             our_method->input_type()->full_name());
      Expect(name + " output", method->output_type()->full_name(),
             our_method->output_type()->full_name());
      Expect(name + " client streaming", method->client_streaming(),
             our_method->client_streaming());
      Expect(name + " server streaming", method->server_streaming(),
             our_method->server_streaming());
    }
  }

  void Missing(const std::string& what) { differences_.push_back(what + ": missing in etcpp"); }

  template <typename T>
  void Expect(const std::string& what, const T& ref, const T& our) {
    if (ref == our) return;
    differences_.push_back(what + ": etcd has " + ::testing::PrintToString(ref) + ", etcpp has " +
                           ::testing::PrintToString(our));
  }

  const DescriptorPool& ours_;
  std::vector<std::string> differences_;
};

std::vector<std::string> Compare(const FileDescriptorSet& reference_set,
                                 const FileDescriptorSet& our_set) {
  auto reference = BuildPool(reference_set);
  auto ours = BuildPool(our_set);
  Comparison comparison(*ours);
  int api_files = 0;
  for (const FileDescriptorProto& file : reference_set.file()) {
    if (!kApiPackages.count(file.package())) continue;
    comparison.File(reference->FindFileByName(file.name()));
    ++api_files;
  }
  EXPECT_EQ(api_files, 5) << "the reference set should hold kv, auth, rpc, election and lock";
  return comparison.differences();
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TEST(WireContract, EveryReferenceDefinitionExistsIdenticallyInOurs) {
  auto differences = Compare(ReadSet(REFERENCE_DESCRIPTORS), ReadSet(ETCPP_DESCRIPTORS));
  EXPECT_TRUE(differences.empty()) << Lines(differences);
}

// Debian ships etcd 3.4; these fields and methods came later (read from etcd's public
// repository) and are what newer clients send and read.
TEST(WireContract, LaterAdditionsHaveEtcdsNumbers) {
  struct Expected {
    const char* field;
    int number;
    const char* type;
  };
  const Expected expected[] = {
      {"etcdserverpb.MemberListRequest.linearizable", 1, "bool"},
      {"etcdserverpb.HashKVResponse.hash_revision", 4, "int64"},
      {"etcdserverpb.SnapshotResponse.version", 4, "string"},
      {"etcdserverpb.StatusResponse.storageVersion", 11, "string"},
      {"etcdserverpb.StatusResponse.dbSizeQuota", 12, "int64"},
      {"etcdserverpb.StatusResponse.downgradeInfo", 13, "etcdserverpb.DowngradeInfo"},
      {"etcdserverpb.DowngradeInfo.enabled", 1, "bool"},
      {"etcdserverpb.DowngradeInfo.targetVersion", 2, "string"},
      {"etcdserverpb.DowngradeRequest.action", 1, "etcdserverpb.DowngradeRequest.DowngradeAction"},
      {"etcdserverpb.DowngradeRequest.version", 2, "string"},
      {"etcdserverpb.DowngradeResponse.version", 2, "string"},
      {"etcdserverpb.AuthUserAddRequest.hashedPassword", 4, "string"},
      {"etcdserverpb.AuthUserChangePasswordRequest.hashedPassword", 3, "string"},
      {"etcdserverpb.AuthStatusResponse.enabled", 2, "bool"},
      {"etcdserverpb.AuthStatusResponse.authRevision", 3, "uint64"},
  };
  auto ours = BuildPool(ReadSet(ETCPP_DESCRIPTORS));
  for (const auto& e : expected) {
    const FieldDescriptor* field = ours->FindFieldByName(e.field);
    ASSERT_NE(field, nullptr) << e.field;
    EXPECT_EQ(field->number(), e.number) << e.field;
    EXPECT_EQ(TypeOf(field), e.type) << e.field;
  }
  const auto* action = ours->FindEnumTypeByName("etcdserverpb.DowngradeRequest.DowngradeAction");
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->FindValueByName("VALIDATE")->number(), 0);
  EXPECT_EQ(action->FindValueByName("ENABLE")->number(), 1);
  EXPECT_EQ(action->FindValueByName("CANCEL")->number(), 2);
  const auto* downgrade = ours->FindMethodByName("etcdserverpb.Maintenance.Downgrade");
  ASSERT_NE(downgrade, nullptr);
  EXPECT_EQ(downgrade->input_type()->full_name(), "etcdserverpb.DowngradeRequest");
  const auto* auth_status = ours->FindMethodByName("etcdserverpb.Auth.AuthStatus");
  ASSERT_NE(auth_status, nullptr);
  EXPECT_EQ(auth_status->output_type()->full_name(), "etcdserverpb.AuthStatusResponse");
}

// The comparison itself must have teeth: renumber one field, retype another, drop a
// method, and each must be reported.
TEST(WireContract, ComparisonReportsPlantedDifferences) {
  FileDescriptorSet ours = ReadSet(ETCPP_DESCRIPTORS);
  for (FileDescriptorProto& file : *ours.mutable_file()) {
    if (file.package() != "etcdserverpb") continue;
    for (auto& message : *file.mutable_message_type()) {
      if (message.name() == "RangeRequest") message.mutable_field(2)->set_number(30);
      if (message.name() == "PutRequest") {
        message.mutable_field(2)->set_type(google::protobuf::FieldDescriptorProto::TYPE_UINT64);
      }
    }
    for (auto& service : *file.mutable_service()) {
      if (service.name() == "KV") service.mutable_method()->RemoveLast();  // Compact
    }
  }
  auto differences = Compare(ReadSet(REFERENCE_DESCRIPTORS), ours);
  EXPECT_EQ(differences.size(), 3u) << Lines(differences);
  std::string all = Lines(differences);
  EXPECT_NE(all.find("etcdserverpb.RangeRequest.limit number: etcd has 3, etcpp has 30"),
            std::string::npos) << all;
  EXPECT_NE(all.find("etcdserverpb.PutRequest.lease type: etcd has \"int64\", etcpp has \"uint64\""),
            std::string::npos) << all;
  EXPECT_NE(all.find("method etcdserverpb.KV.Compact: missing in etcpp"), std::string::npos) << all;
}

}  // namespace
}  // namespace etcpp::proto
