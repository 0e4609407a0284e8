# The project's entry points. Each target runs scripts/setup first (a no-op once the
# packages are installed), so a fresh Debian 12 machine needs nothing else.
BUILD ?= build
JOBS ?= $(shell nproc)
SANITIZE ?= OFF

.PHONY: setup build run test chaos chaos-planted fuzz bench clean

setup:
	@scripts/setup

$(BUILD)/build.ninja: CMakeLists.txt | setup
	cmake -S . -B $(BUILD) -G Ninja -DETCPP_SANITIZE=$(SANITIZE)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	scripts/run

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Fault injection (short mode, under 10 minutes): etcpp-chaos against a 3-member and a
# 5-member Debian etcd and a 3-member etcpp under every fault kind, then a planted bug,
# which must be caught.
# CHAOS_RUNS runs of CHAOS_SECONDS each from CHAOS_SEED; failing runs keep their history
# and member logs.
CHAOS_SECONDS ?= 60
CHAOS_SEED ?= 1
CHAOS_RUNS ?= 2
CHAOS = $(BUILD)/bin/etcpp-chaos --seconds $(CHAOS_SECONDS) --seed $(CHAOS_SEED)

chaos: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target etcpp-chaos
	$(CHAOS) --server etcd --members 3 --runs $(CHAOS_RUNS)
	$(CHAOS) --server etcd --members 5 --runs 1
	$(CHAOS) --server etcpp --members 3 --runs $(CHAOS_RUNS)
	$(BUILD)/bin/etcpp-chaos --server etcd --members 3 --seconds 15 --seed $(CHAOS_SEED) --plant serializable-reads --keep none | tee $(BUILD)/chaos-planted.txt; \
	  grep -q "NOT linearizable" $(BUILD)/chaos-planted.txt

# The planted server bugs, each in a build of its own with failpoints (CHAOS_PLANT_BUILD;
# the first build is a full one, a switch rebuilds only the server): every one of
# CHAOS_PLANT_RUNS runs must fail. Then the control: the same build and faults without a
# plant must pass, so what failed was the bug, not the harness.
CHAOS_PLANT_BUILD ?= build-plant
CHAOS_PLANT_RUNS ?= 1
CHAOS_PLANT = $(CHAOS_PLANT_BUILD)/bin/etcpp-chaos --server etcpp --members 3 --seconds 60 \
  --seed $(CHAOS_SEED) --runs $(CHAOS_PLANT_RUNS) --failpoints on

chaos-planted: setup
	for plant in stale-reads ack-before-fsync; do \
	  cmake -S . -B $(CHAOS_PLANT_BUILD) -G Ninja -DETCPP_FAILPOINTS=ON -DETCPP_PLANT=$$plant && \
	  cmake --build $(CHAOS_PLANT_BUILD) -j $(JOBS) --target etcpp-chaos && \
	  $(CHAOS_PLANT) --keep none | tee $(CHAOS_PLANT_BUILD)/chaos-$$plant.txt; \
	  grep -q "^0 passed, " $(CHAOS_PLANT_BUILD)/chaos-$$plant.txt || exit 1; \
	done
	cmake -S . -B $(CHAOS_PLANT_BUILD) -G Ninja -DETCPP_FAILPOINTS=ON -DETCPP_PLANT=
	cmake --build $(CHAOS_PLANT_BUILD) -j $(JOBS) --target etcpp-chaos
	$(CHAOS_PLANT)

# Side by side with Debian's etcd (bench/compare; docs/PERFORMANCE.md gets the table).
# BENCH_FLAGS=--quick for a run under 5 minutes.
BENCH_FLAGS ?=

bench: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target etcpp etcpp-bench
	bench/compare --etcpp $(BUILD)/bin/etcpp --bench $(BUILD)/bin/etcpp-bench --dir $(BUILD)/bench-data $(BENCH_FLAGS)

# Fuzzing needs clang's libFuzzer, so it gets a build dir of its own. Each target runs
# for FUZZ_SECONDS from its checked-in seeds (src/<module>/testdata/<target>/, if any)
# plus a corpus kept in the build dir; a crash stops make with the fuzzer's report.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= wal_decoder_fuzz snap_decoder_fuzz

fuzz: setup
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  corpus=$(FUZZ_BUILD)/corpus/$$t; mkdir -p $$corpus; \
	  for seeds in src/*/testdata/$$t; do [ -d $$seeds ] && cp -n $$seeds/* $$corpus/ ; done; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/bin/$$t -max_total_time=$(FUZZ_SECONDS) $$corpus || exit 1; \
	done

clean:
	rm -rf $(BUILD)
