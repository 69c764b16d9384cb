#!/usr/bin/env bash
# Builds the libFuzzer harnesses of this folder with clang and runs each for SECONDS (default 60).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [HARNESS...]
# Each harness is compiled from the product's source files it needs, not from the CMake build, with ASan and UBSan
# (UBSan findings stop the run). Corpora grow in BUILD_DIR/corpus/<harness> (started from seeds/<harness> when that
# folder exists); crashing inputs land in BUILD_DIR/artifacts/<harness>/. Exits non-zero if any harness failed.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS] [HARNESS...]" >&2
  exit 2
fi
BUILD=$(mkdir -p "$1" && cd "$1" && pwd)
SECONDS_EACH=${2:-60}
shift $(($# >= 2 ? 2 : 1))
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CXX=${CXX:-clang++}
CXXFLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I"$ROOT/plugins/include")

EVM=adapters/evm_core
REF=adapters/refchain
# harness | include folders | product sources | libraries
TABLE=(
  "evm_hex|$EVM|$EVM/hex.cpp $EVM/keccak.cpp|"
  "evm_rlp|$EVM|$EVM/rlp.cpp $EVM/u256.cpp|"
  "evm_abi_decode|$EVM|$EVM/abi.cpp $EVM/abi_codec.cpp $EVM/hex.cpp $EVM/keccak.cpp $EVM/u256.cpp|-lboost_json"
  "evm_abi_json|$EVM|$EVM/abi.cpp $EVM/abi_codec.cpp $EVM/hex.cpp $EVM/keccak.cpp $EVM/u256.cpp|-lboost_json"
  "refchain_transaction|$REF|$REF/bytes.cpp $REF/crypto.cpp $REF/transaction.cpp|-lsecp256k1 -lcrypto"
  "refchain_block|$REF|$REF/bytes.cpp $REF/crypto.cpp $REF/transaction.cpp $REF/block.cpp $REF/merkle.cpp $REF/block_payload.cpp $REF/receipt.cpp|-lsecp256k1 -lcrypto"
  "refchain_bft_message|$REF|$REF/bytes.cpp $REF/crypto.cpp $REF/bft/messages.cpp $REF/bft/cert.cpp|-lsecp256k1 -lcrypto"
  "refchain_handshake|$REF $REF/net|$REF/bytes.cpp $REF/crypto.cpp $REF/net/handshake.cpp|-lsecp256k1 -lcrypto"
  "refchain_proof_json|$REF|$REF/bytes.cpp $REF/crypto.cpp $REF/block.cpp $REF/merkle.cpp $REF/proof.cpp $REF/chain_json.cpp $REF/bft/messages.cpp $REF/bft/cert.cpp|-lboost_json -lsecp256k1 -lcrypto"
  "refchain_contracts|$REF|$REF/bytes.cpp $REF/crypto.cpp $REF/state.cpp $REF/contract.cpp $REF/xa_proxy.cpp $REF/kv_contract.cpp $REF/asset_contract.cpp $REF/htlc_contract.cpp $REF/receipt.cpp|-lboost_json -lsecp256k1 -lcrypto"
  "rpc_request|router router/rpc|router/rpc/request.cpp router/rpc/envelope.cpp|-lboost_json"
  "rpc_chain_answers|router|router/chains/chain_answers.cpp router/rpc/envelope.cpp|-lboost_json"
  "auth_base64|router/auth|router/auth/encoding.cpp|"
  "bcos_tx|adapters/bcos $EVM|adapters/bcos/bcos_tx.cpp adapters/bcos/tars.cpp adapters/bcos/sm3.cpp $EVM/abi.cpp $EVM/abi_codec.cpp $EVM/hex.cpp $EVM/keccak.cpp $EVM/u256.cpp $EVM/rlp.cpp|-lboost_json -lcrypto"
)

WANTED=("$@")
wanted() {
  [[ ${#WANTED[@]} -eq 0 ]] && return 0
  local w
  for w in "${WANTED[@]}"; do [[ $w == "$1" ]] && return 0; done
  return 1
}

mkdir -p "$BUILD/bin" "$BUILD/obj"
build() { # name includes sources libs
  local name=$1 objs=() src obj inc=()
  for d in $2; do inc+=(-I"$ROOT/$d"); done
  for src in $3; do
    obj="$BUILD/obj/${name}__$(echo "$src" | tr '/' '_').o"
    if [[ ! -f $obj || $ROOT/$src -nt $obj ]]; then
      nice -n 19 "$CXX" "${CXXFLAGS[@]}" "${inc[@]}" -c "$ROOT/$src" -o "$obj"
    fi
    objs+=("$obj")
  done
  # shellcheck disable=SC2086
  nice -n 19 "$CXX" "${CXXFLAGS[@]}" "${inc[@]}" "$HERE/$name.cpp" "${objs[@]}" $4 -o "$BUILD/bin/$name"
}

failed=()
for row in "${TABLE[@]}"; do
  IFS='|' read -r name includes sources libs <<<"$row"
  wanted "$name" || continue
  echo "== $name: building"
  build "$name" "$includes" "$sources" "$libs"
  corpus="$BUILD/corpus/$name" artifacts="$BUILD/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [[ -d $HERE/seeds/$name ]] && seeds=("$HERE/seeds/$name")
  echo "== $name: running ${SECONDS_EACH}s"
  if ! nice -n 19 "$BUILD/bin/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" \
      2>"$BUILD/$name.log"; then
    failed+=("$name")
    echo "== $name: FAILED (see $BUILD/$name.log and $artifacts/)"
  fi
  grep -E '^stat::number_of_executed_units' "$BUILD/$name.log" | sed "s/^/== $name: /" || true
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "all harnesses ran clean"
