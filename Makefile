# The two set-up commands: `make demo` and `make test`. Both install what is missing first.
.PHONY: all deps release debug asan demo test bench clean

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all: release

deps:
	@./scripts/deps.sh

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

debug: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# Starts a router with the embedded reference chain and walks through a cross-chain flow with the console. Builds only
# what the tour runs (router, console, reference-chain adapter, weft-node), so a newcomer waits for no tests.
demo: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target weft_router weft_console weft_refchain weft_node
	@./scripts/demo.sh build/release

# Every test, unit and integration, under AddressSanitizer and UndefinedBehaviorSanitizer. The Fabric tests run
# against the Fabric release archive WEFT_FABRIC_ARCHIVE names (the project's shared copy when present) and are
# skipped without one.
WEFT_FABRIC_ARCHIVE ?= $(firstword $(wildcard $(abspath ../shared/fabric)/fabric-*-linux-amd64.tar.*))
test: asan
	@WEFT_FABRIC_ARCHIVE="$(WEFT_FABRIC_ARCHIVE)" ctest --preset asan -j $(JOBS)

# The benchmarks (docs/performance.md), release build: the reference chain against etcd, then the router's RPC against
# nginx and direct chain access, a signature through the key vault against the bare one, XA transfers against plain
# ones, HTLC swaps, the EVM adapter against anvil itself, XA and HTLC across anvil and the reference chain, and the
# Fabric adapter against Fabric's Node client (with WEFT_FABRIC_ARCHIVE, as for make test). etcd, nginx and the npm
# test tools are installed if missing.
bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target weft_node weft_bench_refchain weft_router weft_refchain \
		weft_bench_router weft_bench_sign weft_evm weft_fabric
	@./scripts/bench-deps.sh
	@./bench/run-refchain.sh build/release
	@./bench/run-router.sh build/release
	@./build/release/bin/weft-bench-sign
	@./bench/run-xa.sh build/release
	@./bench/run-htlc.sh build/release
	@./bench/run-evm.sh build/release
	@./bench/run-evm-xa.sh build/release
	@WEFT_FABRIC_ARCHIVE="$(WEFT_FABRIC_ARCHIVE)" ./bench/run-fabric.sh build/release

clean:
	rm -rf build
