// Test helpers for storage/mvcc: a real backend in a fresh temporary directory and
// short request builders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/mvcc/store.h"

namespace etcpp::mvcc::testing {

class StoreFixture : public ::testing::Test {
 protected:
  // Where test stores live; the model test overrides it to keep fsync off its clock.
  virtual std::filesystem::path Root() const { return std::filesystem::temp_directory_path(); }

  void SetUp() override {
    dir_ = Root() /
           ("etcpp_mvcc_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes (committing) and opens again: the store restores from the backend.
  void Reopen(Store::Options options = {}) {
    store_.reset();
    backend_.reset();
    backend::Config config;
    config.dir = dir_.string();
    auto backend = backend::Backend::Open(config);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(backend).value();
    auto store = Store::Open(backend_.get(), std::move(options));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  int64_t Put(const std::string& key, const std::string& value, int64_t lease = 0) {
    PutRequest request;
    request.key = key;
    request.value = value;
    request.lease = lease;
    auto response = store_->Put(request);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? response->revision : -1;
  }
  int64_t Delete(const std::string& key, const std::string& range_end = "") {
    DeleteRangeRequest request;
    request.key = key;
    request.range_end = range_end;
    auto response = store_->DeleteRange(request);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? response->deleted : -1;
  }
  RangeResponse Get(const std::string& key, const std::string& range_end = "", int64_t revision = 0) {
    RangeRequest request;
    request.key = key;
    request.range_end = range_end;
    request.revision = revision;
    auto response = store_->Range(request);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? std::move(response).value() : RangeResponse{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<backend::Backend> backend_;
  std::unique_ptr<Store> store_;
};

inline const std::string kAllKeys(1, '\0');

}  // namespace etcpp::mvcc::testing
