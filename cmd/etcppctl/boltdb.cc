#include "boltdb.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace etcpp::ctl {
namespace {

using base::Code;
using base::Status;

constexpr uint32_t kMagic = 0xED0CDAED;
constexpr uint16_t kBranchPage = 0x01;
constexpr uint16_t kLeafPage = 0x02;
constexpr uint32_t kBucketLeafFlag = 0x01;
constexpr size_t kPageHeaderBytes = 16;  // id u64, flags u16, count u16, overflow u32
constexpr size_t kElementBytes = 16;     // branch: pos, ksize, pgid; leaf: flags, pos, ksize, vsize
constexpr size_t kBucketHeaderBytes = 16;  // root pgid u64, sequence u64

template <typename T>
T Load(const std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);  // bbolt writes native little-endian
  return value;
}

uint64_t Fnv64a(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

Status Corrupt(const std::string& what) { return Status(Code::kCorruption, "invalid database: " + what); }

class Walker {
 public:
  Walker(std::string_view file, uint32_t page_size) : file_(file), page_size_(page_size) {}

  // Visits the elements of the (sub)tree rooted at `page` in key order.
  Status Visit(std::string_view page, int depth,
               const std::function<Status(std::string_view, std::string_view, uint32_t)>& leaf) {
    if (depth > 64 || page.size() < kPageHeaderBytes) return Corrupt("page tree");
    const uint16_t flags = Load<uint16_t>(page, 8);
    const uint16_t count = Load<uint16_t>(page, 10);
    if (kPageHeaderBytes + count * kElementBytes > page.size()) return Corrupt("element count");
    for (uint16_t i = 0; i < count; ++i) {
      const size_t element = kPageHeaderBytes + i * kElementBytes;
      if (flags & kBranchPage) {
        auto child = PageAt(Load<uint64_t>(page, element + 8));
        if (!child.ok()) return child.status();
        ETCPP_RETURN_IF_ERROR(Visit(*child, depth + 1, leaf));
      } else if (flags & kLeafPage) {
        const uint32_t pos = Load<uint32_t>(page, element + 4), key_size = Load<uint32_t>(page, element + 8),
                       value_size = Load<uint32_t>(page, element + 12);
        if (element + pos + key_size + value_size > page.size()) return Corrupt("leaf element");
        ETCPP_RETURN_IF_ERROR(leaf(page.substr(element + pos, key_size),
                                   page.substr(element + pos + key_size, value_size), Load<uint32_t>(page, element)));
      } else {
        return Corrupt("unexpected page type");
      }
    }
    return Status::Ok();
  }

  // The page of a bucket whose header is `value` (inline when its root is 0).
  base::Result<std::string_view> BucketRoot(std::string_view value) {
    if (value.size() < kBucketHeaderBytes) return Corrupt("bucket header");
    const uint64_t root = Load<uint64_t>(value, 0);
    if (root == 0) return value.substr(kBucketHeaderBytes);
    return PageAt(root);
  }

  base::Result<std::string_view> PageAt(uint64_t id) {
    const uint64_t offset = id * page_size_;
    if (offset + kPageHeaderBytes > file_.size()) return Corrupt("page out of range");
    const uint64_t span = (1 + uint64_t{Load<uint32_t>(file_, offset + 12)}) * page_size_;
    return file_.substr(offset, std::min<uint64_t>(span, file_.size() - offset));
  }

 private:
  std::string_view file_;
  uint32_t page_size_;
};

}  // namespace

base::Result<BoltInfo> WalkBoltFile(const std::string& path, const BoltVisitor& visitor) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, "stat " + path + ": no such file or directory");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string contents = buffer.str();
  const std::string_view file(contents);
  // The meta starts right after page 0's header; its page size locates page 1's copy.
  if (file.size() < kPageHeaderBytes + 64 || Load<uint32_t>(file, kPageHeaderBytes) != kMagic)
    return Corrupt("not a bbolt file");
  const uint32_t page_size = Load<uint32_t>(file, kPageHeaderBytes + 8);
  if (page_size < 512 || file.size() < 2ull * page_size) return Corrupt("page size");
  std::string_view meta;
  uint64_t best_txid = 0;
  for (uint64_t copy = 0; copy < 2; ++copy) {
    const std::string_view candidate = file.substr(copy * page_size + kPageHeaderBytes, 64);
    const bool valid = Load<uint32_t>(candidate, 0) == kMagic &&
                       Load<uint64_t>(candidate, 56) == Fnv64a(candidate.substr(0, 56));
    if (valid && (meta.empty() || Load<uint64_t>(candidate, 48) > best_txid)) {
      meta = candidate;
      best_txid = Load<uint64_t>(candidate, 48);
    }
  }
  if (meta.empty()) return Corrupt("no valid meta page");
  Walker walker(file, page_size);
  auto root = walker.PageAt(Load<uint64_t>(meta, 16));
  if (!root.ok()) return root.status();
  ETCPP_RETURN_IF_ERROR(walker.Visit(*root, 0, [&](std::string_view name, std::string_view value, uint32_t flags) {
    if (!(flags & kBucketLeafFlag)) return Corrupt("top-level key that is not a bucket");
    visitor.on_bucket(name);
    auto bucket = walker.BucketRoot(value);
    if (!bucket.ok()) return bucket.status();
    return walker.Visit(*bucket, 1, [&](std::string_view key, std::string_view pair_value, uint32_t pair_flags) {
      // A nested bucket reads as a key without a value, as bbolt's ForEach reports it.
      visitor.on_pair(key, (pair_flags & kBucketLeafFlag) ? std::string_view() : pair_value);
      return Status::Ok();
    });
  }));
  return BoltInfo{Load<uint64_t>(meta, 40) * page_size};
}

}  // namespace etcpp::ctl
