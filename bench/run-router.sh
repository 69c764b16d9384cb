#!/usr/bin/env bash
# Runs the router RPC benchmark: weft-router against nginx (GET /sys/test) and against direct access to a 4-node
# weft-node network (kv get and set), same client, same run.
# Usage: bench/run-router.sh [BUILD_DIR] [weft-bench-router options...]   (see --help for the options)
# Without options it runs the configurations docs/performance.md reports.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
bench="$build/bin/weft-bench-router"
for f in "$bench" "$build/bin/weft-router" "$build/bin/weft-node" "$build/plugins/libweft_refchain.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
if [ $# -gt 0 ]; then
  exec "$bench" "$@"
fi
status=0
echo "== closed loop: 16 connections (128 for writes), one request in flight on each"
"$bench" || status=1
echo
echo "== pipelined: 16 connections (128 for writes), 8 requests in flight on each"
"$bench" --depth 8 || status=1
exit $status
