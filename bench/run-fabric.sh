#!/usr/bin/env bash
# Runs the Fabric adapter benchmark (bench/fabric_bench.py) against the release build: sendTransaction through the
# router beside the same transactions sent by Fabric's Node client (fabric-network 2.2) straight to the network.
# Needs Fabric's release archive in WEFT_FABRIC_ARCHIVE (the project's shared copy is the default when present).
# Usage: bench/run-fabric.sh [BUILD_DIR] [fabric_bench.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
[ $# -gt 0 ] && shift
[ -d "$build" ] && build="$(cd "$build" && pwd)"
for f in "$build/bin/weft-router" "$build/plugins/libweft_fabric.so"; do
  [ -e "$f" ] || { echo "no $f: build the release preset first (make bench)" >&2; exit 2; }
done
if [ -z "${WEFT_FABRIC_ARCHIVE:-}" ]; then
  WEFT_FABRIC_ARCHIVE=$(ls "$root"/../shared/fabric/fabric-*-linux-amd64.tar.* 2>/dev/null | head -1 || true)
fi
if [ -z "$WEFT_FABRIC_ARCHIVE" ]; then
  echo "fabric benchmark skipped: set WEFT_FABRIC_ARCHIVE to Fabric's release archive" >&2
  exit 0
fi
WEFT_FABRIC_ARCHIVE="$WEFT_FABRIC_ARCHIVE" "$root/scripts/fabric-unpack.sh" "$build/fabric"
"$root/scripts/npm-deps.sh" "$build/fabric-npm" "$root/tests/fabric/chaincode"
"$root/scripts/npm-deps.sh" "$build/fabric-bench-npm" "$root/bench/fabric"
WEFT_BIN="$build/bin" WEFT_PLUGINS="$build/plugins" WEFT_FABRIC_DIR="$build/fabric" \
  WEFT_FABRIC_CHAINCODE_MODULES="$build/fabric-npm/node_modules" \
  WEFT_FABRIC_BENCH_MODULES="$build/fabric-bench-npm/node_modules" \
  exec python3 "$root/bench/fabric_bench.py" "$@"
