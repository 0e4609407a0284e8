// etcpp-raft-sim: deterministic simulation of raft clusters (see cluster.h).
//
//   etcpp-raft-sim --seeds FROM:TO [--trace] [--plant amnesia|old-term-commit|no-log-check]
//
// Runs one cluster per seed and prints one line per failing seed (the invariant, the
// step and the command that replays it); the last line is "N passed, N failed". Each
// seed runs in a child process so that a core assertion (which aborts, by design)
// fails that seed only.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster.h"

namespace {

using etcpp::raft::PlantedBug;
using etcpp::raftsim::Cluster;
using etcpp::raftsim::SimOptions;
using etcpp::raftsim::SimResult;

struct Shared {
  uint64_t step;
  char line[1024];
};

const char* PlantName(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kAmnesia:
      return "amnesia";
    case PlantedBug::kOldTermCommit:
      return "old-term-commit";
    case PlantedBug::kNoLogCheck:
      return "no-log-check";
    case PlantedBug::kNone:
      return "";
  }
  return "";
}

bool ParsePlant(const std::string& s, PlantedBug* out) {
  for (PlantedBug b : {PlantedBug::kAmnesia, PlantedBug::kOldTermCommit, PlantedBug::kNoLogCheck}) {
    if (s == PlantName(b)) {
      *out = b;
      return true;
    }
  }
  return false;
}

std::string ReplayCommand(uint64_t seed, const SimOptions& options) {
  std::string cmd =
      "etcpp-raft-sim --seeds " + std::to_string(seed) + ":" + std::to_string(seed) + " --trace";
  if (options.plant != PlantedBug::kNone)
    cmd += std::string(" --plant ") + PlantName(options.plant);
  return cmd;
}

// Runs the seed in a child; returns the failure line, or "" if it passed.
std::string RunSeed(uint64_t seed, const SimOptions& options, Shared* shared) {
  std::memset(shared, 0, sizeof(*shared));
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(2);
  }
  if (pid == 0) {
    Cluster cluster(seed, options, &shared->step);
    SimResult r = cluster.Run();
    if (r.violation) {
      std::snprintf(shared->line, sizeof(shared->line),
                    "seed %llu: FAIL %s at step %llu (tick %llu): %s",
                    static_cast<unsigned long long>(seed), r.violation->invariant.c_str(),
                    static_cast<unsigned long long>(r.step),
                    static_cast<unsigned long long>(r.tick), r.violation->detail.c_str());
    }
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::string line = shared->line;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    line = "seed " + std::to_string(seed) + ": FAIL core-assertion at step " +
           std::to_string(shared->step) + " (the member aborted; see stderr)";
  }
  if (!line.empty()) line += "; replay: " + ReplayCommand(seed, options);
  return line;
}

int Usage() {
  std::fprintf(stderr,
               "usage: etcpp-raft-sim --seeds FROM:TO [--trace] "
               "[--plant amnesia|old-term-commit|no-log-check]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions options;
  uint64_t from = 0, to = 0;
  bool have_seeds = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--trace") {
      options.trace = true;
    } else if (arg == "--seeds" && i + 1 < argc) {
      unsigned long long a = 0, b = 0;
      if (std::sscanf(argv[++i], "%llu:%llu", &a, &b) != 2 || a > b) return Usage();
      from = a;
      to = b;
      have_seeds = true;
    } else if (arg == "--plant" && i + 1 < argc) {
      if (!ParsePlant(argv[++i], &options.plant)) return Usage();
    } else {
      return Usage();
    }
  }
  if (!have_seeds) return Usage();
  void* mem =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 2;
  }
  Shared* shared = static_cast<Shared*>(mem);
  uint64_t passed = 0, failed = 0;
  for (uint64_t seed = from; seed <= to; ++seed) {
    const std::string line = RunSeed(seed, options, shared);
    if (line.empty()) {
      ++passed;
    } else {
      ++failed;
      std::printf("%s\n", line.c_str());
    }
  }
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
