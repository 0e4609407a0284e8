// Memory of the MVCC key index at 1,000,000 keys: heap bytes per key (mallinfo2
// delta around building a TreeIndex) and the overhead beyond the key bytes. Keys are
// inserted in random order (B-tree nodes then sit about 70% full, the realistic case).
// Usage: mvcc_index_memory [keys] [key_prefix]
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "storage/mvcc/tree_index.h"

namespace {

long RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int keys = argc > 1 ? std::atoi(argv[1]) : 1000000;
  const std::string prefix = argc > 2 ? argv[2] : "/registry/pods/default/pod-";
  std::vector<int> order(keys);
  for (int i = 0; i < keys; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));

  std::vector<std::string> names;
  names.reserve(keys);
  size_t key_bytes = 0;
  for (int i : order) {
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%07d", i);
    names.push_back(prefix + suffix);
    key_bytes += names.back().size();
  }

  malloc_trim(0);
  const size_t heap_before = mallinfo2().uordblks;
  const long rss_before = RssKiB();
  {
    etcpp::mvcc::TreeIndex index;
    int64_t revision = 2;
    for (const std::string& name : names) index.Put(name, {revision++, 0});
    const size_t heap = mallinfo2().uordblks - heap_before;
    const long rss = (RssKiB() - rss_before) * 1024;
    std::printf("keys: %d, average key length: %.1f bytes, index size: %zu\n", keys,
                static_cast<double>(key_bytes) / keys, index.size());
    std::printf("heap (mallinfo2): %.1f bytes/key, %.1f bytes/key beyond the key bytes\n",
                static_cast<double>(heap) / keys, static_cast<double>(heap - key_bytes) / keys);
    std::printf("RSS delta:        %.1f bytes/key, %.1f bytes/key beyond the key bytes\n",
                static_cast<double>(rss) / keys, static_cast<double>(rss - static_cast<long>(key_bytes)) / keys);
  }
  return 0;
}
