#!/usr/bin/env bash
# Runs the XA benchmark (bench/xa_bench.py) against the release build: two-chain XA transfers beside the same two
# transfers sent plainly, same router and chains, same run. Usage: bench/run-xa.sh [BUILD_DIR] [xa_bench.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
for f in "$build/bin/weft-router" "$build/plugins/libweft_refchain.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
WEFT_BIN="$build/bin" WEFT_PLUGINS="$build/plugins" exec python3 "$root/bench/xa_bench.py" "$@"
