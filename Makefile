# The README's commands, thin over CMake presets (see CMakePresets.json).
#   make demo    build (release) and run `objmem demo`
#   make test    build and pass every test: asan+ubsan, tsan (threaded tests), release
#   make bench   build the benchmarks and compare objmem with its peers
JOBS ?= $(shell nproc)

.PHONY: all deps demo test test-asan test-tsan test-release bench format clean

all: release

deps:
	@scripts/install-deps build

release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

demo: release
	./build/release/objmem demo

test: test-asan test-tsan test-release

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

test-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS)

test-release: release
	ctest --preset release -j $(JOBS)

bench:
	@scripts/install-deps bench
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
