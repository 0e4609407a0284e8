// libFuzzer target for the snapshot file decoder: whatever bytes a snapshot file holds,
// DecodeSnapshotFile must return a Status, never crash or read out of bounds; and a
// snapshot it accepts must survive a round trip through EncodeSnapshotFile.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "snap/snapshotter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view contents(reinterpret_cast<const char*>(data), size);
  etcpp::raftpb::Snapshot snapshot;
  if (!etcpp::snap::DecodeSnapshotFile(contents, &snapshot).ok()) return 0;
  etcpp::raftpb::Snapshot again;
  ETCPP_ASSERT(
      etcpp::snap::DecodeSnapshotFile(etcpp::snap::EncodeSnapshotFile(snapshot), &again).ok());
  ETCPP_ASSERT(again.SerializeAsString() == snapshot.SerializeAsString());
  return 0;
}
