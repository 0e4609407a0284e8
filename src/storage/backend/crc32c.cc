// Byte-at-a-time table CRC-32C. HashKV is a maintenance call, not a hot path, so the
// simple table beats the complexity of slicing or SSE4.2.
#include "storage/backend/crc32c.h"

#include <array>

namespace etcpp::backend {

namespace {
constexpr uint32_t kPolynomialReversed = 0x82f63b78;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kPolynomialReversed : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();
}  // namespace

uint32_t Crc32cExtend(uint32_t crc, std::string_view data) {
  crc = ~crc;
  for (unsigned char byte : data) crc = kTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace etcpp::backend
