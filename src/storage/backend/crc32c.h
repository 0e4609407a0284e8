// CRC-32C (Castagnoli), the checksum etcd's Hash and HashKV use (Go's crc32.Castagnoli
// table), so hashes are comparable with etcd's for the same bucket content.
#pragma once

#include <cstdint>
#include <string_view>

namespace etcpp::backend {

// Extends `crc` (0 to start) with `data`, like successive Write calls on Go's hash.
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);

}  // namespace etcpp::backend
