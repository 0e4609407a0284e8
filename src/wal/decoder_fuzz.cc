// libFuzzer target for everything that reads WAL bytes from disk: the record framing,
// the payload decoders and the replay rules (including the torn-tail classification),
// driven over arbitrary input as a last segment and as an earlier one. Any crash, any
// out-of-bounds read (ASan) or broken invariant (ETCPP_ASSERT aborts) is a finding.
//
// The first input byte picks the seed and the snapshot marker so both the chained and
// the marker-filtered paths are reached; the rest is the segment's bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wal/record.h"
#include "wal/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcpp::wal;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  // Walk the framing alone, as far as it goes.
  std::string_view rest = bytes;
  uint32_t crc = SegmentHeaderSeed(bytes);
  while (!rest.empty()) {
    DecodedRecord record = DecodeRecord(rest, crc);
    if (record.status != DecodeStatus::kOk) break;
    ETCPP_ASSERT(record.extent >= kRecordHeaderBytes && record.extent <= rest.size());
    crc = record.crc;
    rest.remove_prefix(record.extent);
  }

  // And the full replay, twice over the same bytes: as the first and only (last) segment,
  // then as an earlier segment followed by the same bytes again (chain checked).
  Replayer replayer(
      SnapshotMarker{static_cast<uint64_t>(mode & 0x0f), static_cast<uint64_t>(mode >> 4)});
  auto end = replayer.ScanSegment("fuzz", bytes, 0, (mode & 1) != 0);
  if (end.ok()) {
    ETCPP_ASSERT(end->offset <= bytes.size());
    (void)replayer.ScanSegment("fuzz", bytes, 1, true);
    (void)replayer.Finish();
  }
  return 0;
}
