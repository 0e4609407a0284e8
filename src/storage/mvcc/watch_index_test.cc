// WatcherIndex: which watchers a changed key reaches, for each kind of range, and that
// removal unlinks exactly one watcher among many sharing a key.
#include "storage/mvcc/watch_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

namespace etcpp::mvcc {
namespace {

std::unique_ptr<Watcher> Make(int64_t id, std::string key, std::string end) {
  auto w = std::make_unique<Watcher>();
  w->id = id;
  w->kind = ClassifyWatchRange(key, end);
  w->key = std::move(key);
  w->end = end == std::string(1, '\0') ? "" : std::move(end);
  return w;
}

std::vector<int64_t> Matches(const WatcherIndex& index, std::string_view key) {
  std::vector<int64_t> ids;
  index.ForEachMatch(key, [&](Watcher* w) { ids.push_back(w->id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(WatchIndex, PrefixEndIsEtcds) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(ClassifyWatchRange("a", ""), WatchRangeKind::kKey);
  EXPECT_EQ(ClassifyWatchRange("a/", "a0"), WatchRangeKind::kPrefix);
  EXPECT_EQ(ClassifyWatchRange("a", "c"), WatchRangeKind::kRange);
  EXPECT_EQ(ClassifyWatchRange("a", std::string(1, '\0')), WatchRangeKind::kRange);
}

TEST(WatchIndex, EachKindOfRangeMatchesExactlyItsKeys) {
  WatcherIndex index;
  std::vector<std::unique_ptr<Watcher>> ws;
  ws.push_back(Make(1, "a", ""));
  ws.push_back(Make(2, "a/", "a0"));
  ws.push_back(Make(3, "b", "d"));
  ws.push_back(Make(4, "c", std::string(1, '\0')));
  ws.push_back(Make(5, "a/b/", "a/b0"));
  ws.push_back(Make(6, "a", ""));
  for (auto& w : ws) index.Add(w.get());
  EXPECT_EQ(Matches(index, "a"), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(Matches(index, "a/"), (std::vector<int64_t>{2}));
  EXPECT_EQ(Matches(index, "a/b/x"), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(Matches(index, "b"), (std::vector<int64_t>{3}));
  EXPECT_EQ(Matches(index, "c"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Matches(index, "d"), (std::vector<int64_t>{4}));
  EXPECT_EQ(Matches(index, "zzz"), (std::vector<int64_t>{4}));
  EXPECT_EQ(Matches(index, "0"), (std::vector<int64_t>{}));
  EXPECT_EQ(index.size(), 6u);
  EXPECT_EQ(index.All().size(), 6u);
}

TEST(WatchIndex, RemovingOneOfManyOnAKeyKeepsTheOthers) {
  WatcherIndex index;
  std::vector<std::unique_ptr<Watcher>> ws;
  for (int64_t i = 0; i < 5; ++i) ws.push_back(Make(i, "k", ""));
  for (int64_t i = 0; i < 5; ++i) ws.push_back(Make(10 + i, "p", "q"));
  for (auto& w : ws) index.Add(w.get());
  index.Remove(ws[2].get());   // middle
  index.Remove(ws[4].get());   // head (last added)
  index.Remove(ws[0].get());   // tail
  index.Remove(ws[9].get());
  EXPECT_EQ(Matches(index, "k"), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(Matches(index, "p1"), (std::vector<int64_t>{10, 11, 12, 13}));
  for (int64_t i : {1, 3, 5, 6, 7, 8}) index.Remove(ws[i].get());
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(Matches(index, "k").empty());
  EXPECT_TRUE(Matches(index, "p1").empty());
}

}  // namespace
}  // namespace etcpp::mvcc
