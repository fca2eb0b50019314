# atls: the two commands are `make demo` and `make test`.
# Everything else here is a convenience on top of CMake.

BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test demo fuzz fuzz-run bench asan clean format security-matrix

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATLS_WERROR=ON $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/tools/atls demo

# libFuzzer builds (clang). `make fuzz` builds the targets; `make fuzz-run T=cbor` runs one.
fuzz:
	@scripts/install-deps.sh fuzz
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATLS_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -R '^fuzz\.ub_is_fatal$$'

fuzz-run: fuzz
	$(FUZZ_BUILD)/tests/fuzz/$(T)_fuzzer -max_total_time=$${SECONDS_:-60} tests/fuzz/corpus/$(T)

# Every benchmark program that was built (bench/*_bench.cc -> atls_<name>).
bench: build
	@for b in atls_formats_bench atls_verify_bench atls_handshake_bench atls_rtt_bench atls_verifier_service_bench atls_sidecar_bench; do \
	  if [ -x $(BUILD)/bench/$$b ]; then echo "== $$b"; $(BUILD)/bench/$$b || exit 1; fi; \
	done

# docs/security-matrix.md from a run of the attack matrix (every attack against
# every mode: tests/unit/attack_matrix_test.cc); the ctest docs.security_matrix
# checks that the committed file matches.
security-matrix: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target attack_matrix_test
	/usr/bin/python3 scripts/security_matrix.py --binary $(BUILD)/tests/attack_matrix_test --write docs/security-matrix.md

# Every test under AddressSanitizer and UndefinedBehaviorSanitizer (g++).
ASAN_BUILD ?= build-asan
asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DATLS_SANITIZE=address;undefined" $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

format:
	clang-format-14 -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
