#!/usr/bin/env bash
# Runs the HTLC benchmark (bench/htlc_bench.py) against the release build: the counterpart claim's delay after the
# secret is revealed, and swaps per second, beside a plain transfer's commit in the same run.
# Usage: bench/run-htlc.sh [BUILD_DIR] [htlc_bench.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
for f in "$build/bin/weft-router" "$build/plugins/libweft_refchain.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
WEFT_BIN="$build/bin" WEFT_PLUGINS="$build/plugins" exec python3 "$root/bench/htlc_bench.py" "$@"
