#!/usr/bin/env bash
# Runs the EVM adapter benchmark (bench/evm_bench.py) against the release build: sends and calls through the router
# to anvil beside the same work sent straight to anvil. Usage: bench/run-evm.sh [BUILD_DIR] [evm_bench.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
for f in "$build/bin/weft-router" "$build/plugins/libweft_evm.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
"$root/scripts/npm-deps.sh" "$build/npm"
WEFT_BIN="$build/bin" WEFT_PLUGINS="$build/plugins" WEFT_NODE_MODULES="$build/npm/node_modules" \
  exec python3 "$root/bench/evm_bench.py" "$@"
