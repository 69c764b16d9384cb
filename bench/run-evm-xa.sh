#!/usr/bin/env bash
# Runs the EVM XA and HTLC benchmark (bench/evm_xa_bench.py) against the release build: XA transfers across anvil and
# a reference chain beside the same two transfers sent plainly, and HTLC swaps between them beside the same swap
# between two reference chains, same router, same run. Usage: bench/run-evm-xa.sh [BUILD_DIR] [evm_xa_bench.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
for f in "$build/bin/weft-router" "$build/plugins/libweft_evm.so" "$build/plugins/libweft_refchain.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
"$root/scripts/npm-deps.sh" "$build/npm"
WEFT_BIN="$build/bin" WEFT_PLUGINS="$build/plugins" WEFT_NODE_MODULES="$build/npm/node_modules" \
  exec python3 "$root/bench/evm_xa_bench.py" "$@"
