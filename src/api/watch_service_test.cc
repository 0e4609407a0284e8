// SplitWatchResponse: etcd's fragmenting of large watch responses.
#include "api/watch_service.h"

#include <gtest/gtest.h>

namespace etcpp::api {
namespace {

etcdserverpb::WatchResponse WithEvents(int count, size_t value_bytes) {
  etcdserverpb::WatchResponse response;
  response.set_watch_id(3);
  response.mutable_header()->set_revision(9);
  for (int i = 0; i < count; ++i) {
    auto* kv = response.add_events()->mutable_kv();
    kv->set_key("k" + std::to_string(i));
    kv->set_value(std::string(value_bytes, 'v'));
  }
  return response;
}

TEST(SplitWatchResponse, SmallOrSingleEventResponsesGoWhole) {
  EXPECT_EQ(SplitWatchResponse(WithEvents(3, 10), 1000).size(), 1u);
  auto single = SplitWatchResponse(WithEvents(1, 5000), 1000);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_FALSE(single[0].fragment());
}

TEST(SplitWatchResponse, LargeResponsesSplitIntoWholeEventsUnderTheLimit) {
  auto parts = SplitWatchResponse(WithEvents(5, 400), 1000);
  ASSERT_EQ(parts.size(), 3u);  // two ~410-byte events fit under 1000, a third does not
  int events = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(parts[i].fragment(), i + 1 < parts.size());
    EXPECT_EQ(parts[i].watch_id(), 3);
    EXPECT_EQ(parts[i].header().revision(), 9);
    EXPECT_LT(parts[i].ByteSizeLong(), 1000u);
    for (const auto& e : parts[i].events()) EXPECT_EQ(e.kv().key(), "k" + std::to_string(events++));
  }
  EXPECT_EQ(events, 5);
}

}  // namespace
}  // namespace etcpp::api
