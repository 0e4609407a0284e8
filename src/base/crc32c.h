// CRC32C (Castagnoli polynomial, reflected 0x82F63B78): the checksum of every WAL record
// and snapshot file, and of etcd's Hash and HashKV (Go's crc32.Castagnoli table, so
// hashes compare with etcd's). Pure functions, safe from any thread.
//
// Extend() continues a running checksum, so a chain of records can be checked as one
// stream: Extend(Extend(0, a), b) == Value(a + b). The hardware path (SSE4.2 crc32
// instruction) is chosen once at run time when the CPU has it; the table path gives the
// same results and is what the tests compare against the published vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace etcpp::base::crc32c {

// The CRC32C of `data` continuing from `crc` (the CRC32C of everything before it).
uint32_t Extend(uint32_t crc, const void* data, size_t size);

inline uint32_t Extend(uint32_t crc, std::string_view data) {
  return Extend(crc, data.data(), data.size());
}
inline uint32_t Value(std::string_view data) { return Extend(0, data); }

// The portable table implementation, exposed so tests can check both paths agree.
uint32_t ExtendPortableForTesting(uint32_t crc, const void* data, size_t size);

}  // namespace etcpp::base::crc32c
