#include "storage/mvcc/revision.h"

namespace etcpp::mvcc {

namespace {
void AppendBigEndian(std::string* out, int64_t value) {
  auto v = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}
int64_t ReadBigEndian(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return static_cast<int64_t>(v);
}
}  // namespace

std::string BucketKey(Revision revision, bool tombstone) {
  std::string out;
  out.reserve(kRevisionBytes + 1);
  AppendBigEndian(&out, revision.main);
  out.push_back('_');
  AppendBigEndian(&out, revision.sub);
  if (tombstone) out.push_back(kTombstoneMark);
  return out;
}

std::string BucketKeyPrefix(int64_t main) {
  std::string out;
  AppendBigEndian(&out, main);
  return out;
}

bool DecodeBucketKey(std::string_view key, DecodedBucketKey* out) {
  if (key.size() != kRevisionBytes && key.size() != kRevisionBytes + 1) return false;
  if (key[8] != '_') return false;
  if (key.size() == kRevisionBytes + 1 && key[kRevisionBytes] != kTombstoneMark) return false;
  out->revision = Revision{ReadBigEndian(key.substr(0, 8)), ReadBigEndian(key.substr(9, 8))};
  out->tombstone = key.size() == kRevisionBytes + 1;
  return true;
}

}  // namespace etcpp::mvcc
