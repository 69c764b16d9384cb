#!/bin/sh
# Compares the EVM core's codec with ethers: node writes ethers' answers for ethers_cases.json, then the C++ test
# checks the codec against them. Node or ethers missing is a failure, never a skip.
# Usage: ethers_compare.sh EVM_ETHERS_TEST OUT_DIR   (ethers found through NODE_PATH)
set -eu
test_binary=${1:?usage: ethers_compare.sh EVM_ETHERS_TEST OUT_DIR}
out_dir=${2:?usage: ethers_compare.sh EVM_ETHERS_TEST OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "ethers_compare: node is not installed (scripts/npm-deps.sh installs it); the codec cannot be compared" >&2
  exit 1
fi
mkdir -p "$out_dir"
node "$here/ethers_vectors.js" "$here/ethers_cases.json" "$out_dir/ethers_vectors.json"
WEFT_ETHERS_CASES="$here/ethers_cases.json" WEFT_ETHERS_VECTORS="$out_dir/ethers_vectors.json" exec "$test_binary"
