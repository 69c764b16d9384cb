#!/usr/bin/env bash
# Runs the reference-chain benchmark: a 4-validator weft-node network against a 3-member etcd cluster, same load.
# Usage: bench/run-refchain.sh [BUILD_DIR] [weft-bench-refchain options...]   (see --help for the options)
# Without options it runs the configurations docs/performance.md reports.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
bench="$build/bin/weft-bench-refchain"
[ -x "$bench" ] || { echo "no $bench: build the release preset first (make bench)" >&2; exit 2; }
[ -x "$build/bin/weft-node" ] || { echo "no $build/bin/weft-node: build the release preset first" >&2; exit 2; }
if [ $# -gt 0 ]; then
  exec "$bench" "$@"
fi
status=0
echo "== as fast as possible: 30000 transfers, 32 connections"
"$bench" --txs 30000 --conns 32 || status=1
echo
echo "== open loop at 6000/s: 40000 transfers, 32 connections"
"$bench" --txs 40000 --conns 32 --rate 6000 || status=1
echo
echo "== open loop at 7000/s: 40000 transfers, 32 connections"
"$bench" --txs 40000 --conns 32 --rate 7000 || status=1
echo
echo "== one validator stopped against healthy, as fast as possible: 20000 transfers twice, 32 connections"
"$bench" --stop-one --txs 20000 --conns 32 || status=1
echo
echo "== one validator stopped against healthy, open loop at 2000/s: 12000 transfers twice, 32 connections"
"$bench" --stop-one --txs 12000 --conns 32 --rate 2000 || status=1
exit $status
