// CRC32C against published vectors (RFC 3720 B.4 and the common "123456789" check), and
// the hardware path against the table path.
#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace etcpp::base::crc32c {
namespace {

TEST(Crc32cTest, MatchesKnownVectors) {
  struct Case {
    std::string data;
    uint32_t crc;
  };
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  const Case cases[] = {
      {"", 0},
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xff'), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Value(c.data), c.crc) << "size " << c.data.size();
    EXPECT_EQ(ExtendPortableForTesting(0, c.data.data(), c.data.size()), c.crc);
  }
}

TEST(Crc32cTest, ExtendEqualsValueOfConcatenation) {
  std::string data = "the quick brown fox jumps over the lazy dog, twice over";
  for (size_t split = 0; split <= data.size(); ++split) {
    std::string_view a(data.data(), split), b(data.data() + split, data.size() - split);
    EXPECT_EQ(Extend(Extend(0, a), b), Value(data)) << split;
  }
}

TEST(Crc32cTest, HardwareAndPortablePathsAgree) {
  std::mt19937_64 rng(42);
  std::string data(4096, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t size = 0; size + offset <= 300; ++size) {
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(Extend(seed, data.data() + offset, size),
                ExtendPortableForTesting(seed, data.data() + offset, size));
    }
  }
}

}  // namespace
}  // namespace etcpp::base::crc32c
