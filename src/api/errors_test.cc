#include "api/errors.h"

#include <gtest/gtest.h>

namespace etcpp::api {
namespace {

TEST(Errors, InternalMvccErrorGetsEtcdsPrefixAndCode) {
  grpc::Status s = ToGrpcStatus(base::Status(base::Code::kOutOfRange,
                                             "mvcc: required revision has been compacted"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision has been compacted");
}

TEST(Errors, FullMessageMapsToItself) {
  grpc::Status s = ToGrpcStatus(
      base::Status(base::Code::kInvalidArgument, "etcdserver: request is too large"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: request is too large");
  EXPECT_EQ(EtcdError("etcdserver: no leader").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(EtcdError("lease already exists").error_message(), "etcdserver: lease already exists");
}

TEST(Errors, UnknownErrorIsUnknownWithItsMessage) {
  grpc::Status s = ToGrpcStatus(base::Status(base::Code::kIoError, "disk on fire"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "disk on fire");
  EXPECT_TRUE(ToGrpcStatus(base::Status::Ok()).ok());
}

TEST(ErrorsDeathTest, EtcdErrorRefusesTextEtcdDoesNotSend) {
  EXPECT_DEATH(EtcdError("something else"), "not one of etcd's errors");
}

}  // namespace
}  // namespace etcpp::api
