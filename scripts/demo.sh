#!/usr/bin/env bash
# The newcomer's tour: start weft-router with the embedded reference chain from conf/router.yaml, drive it with
# the `weft` console (list, write, read back, move assets, look up a receipt, an XA transfer across both chains,
# committed and rolled back, an HTLC swap between them), then stop it cleanly.
set -euo pipefail
build=${1:-build/release}
bin="$build/bin"
here=$(cd "$(dirname "$0")/.." && pwd)
data=$(mktemp -d -t weft-demo.XXXXXX)
log="$data/router.log"
router_pid=""

cleanup() {
  if [ -n "$router_pid" ] && kill -0 "$router_pid" 2>/dev/null; then kill "$router_pid"; wait "$router_pid" || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
weft() { printf '$ weft'; printf ' %q' "$@"; printf '\n'; "$bin/weft" "$@"; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

say "Making the first admin, offline, in the router's data directory (a fresh temp directory)"
# The master key seals users' chain keys, the router's own keys and HTLC secrets at rest; it lives apart from the data.
export WEFT_MASTER_KEY_FILE="$data/master.key"
printf '$ weft-router -c conf/router.yaml key create      # WEFT_MASTER_KEY_FILE names where the key goes\n'
WEFT_DATA_DIR="$data" "$bin/weft-router" -c "$here/conf/router.yaml" key create
printf '$ echo ******** | weft-router -c conf/router.yaml account add demo --admin\n'
echo "demo-password-1" | WEFT_DATA_DIR="$data" "$bin/weft-router" -c "$here/conf/router.yaml" account add demo --admin
# The console logs in as demo (WeCross's login flow) before each command below.
export WEFT_USER=demo WEFT_PASSWORD=demo-password-1

say "Starting weft-router with conf/router.yaml"
WEFT_DATA_DIR="$data" WEFT_PLUGIN_DIR="$here/$build/plugins" "$bin/weft-router" -c "$here/conf/router.yaml" >"$log" 2>&1 &
router_pid=$!
for _ in $(seq 1 100); do
  if "$bin/weft" status >/dev/null 2>&1; then break; fi
  if ! kill -0 "$router_pid" 2>/dev/null; then
    echo "weft-router exited during start-up:"; cat "$log"; router_pid=""; exit 1
  fi
  sleep 0.1
done
"$bin/weft" status >/dev/null || { echo "weft-router did not answer:"; cat "$log"; exit 1; }

say "What the router runs: its chains with their heights, and the adapter plugins it loaded"
weft status

say "Who the console is logged in as"
weft whoami

say "The resources it exposes, each named zone.chain.resource"
weft listResources

say "The accounts the router signs with, and their addresses on the reference chain"
weft accounts payment.ledger1
alice=$("$bin/weft" --json accounts payment.ledger1 | json_field '["accounts"][0]["address"]')
bob=$("$bin/weft" --json accounts payment.ledger1 | json_field '["accounts"][1]["address"]')

say "Write a value with a signed transaction; the answer comes once its block is committed"
weft sendTransaction payment.ledger1.store set greeting "hello weft"

say "Read it back with a call (no transaction)"
weft call payment.ledger1.store get greeting

say "Mint 1000 tokens to alice, then move 250 to bob"
weft sendTransaction payment.ledger1.token mint "$alice" 1000
weft sendTransaction payment.ledger1.token transfer "$bob" 250 | tee "$data/transfer.txt"
hash=$(awk '/^txHash:/ {print $2}' "$data/transfer.txt")

say "Balances after the transfer"
weft call payment.ledger1.token balanceOf "$alice"
weft call payment.ledger1.token balanceOf "$bob"

say "A transfer bob cannot cover reaches the chain and fails there: nothing moves"
weft sendTransaction --account bob payment.ledger1.token transfer "$alice" 99999 || true

say "The transfer's receipt, looked up by its hash"
weft getReceipt payment.ledger1 "$hash"

say "An XA transaction across two chains: 100 tokens to bob on ledger1 AND on ledger2, all or nothing"
weft sendTransaction payment.ledger2.token mint "$alice" 1000 >/dev/null
balances() {
  for chain in ledger1 ledger2; do
    printf '  bob on %s: %s\n' "$chain" "$("$bin/weft" --json call payment.$chain.token balanceOf "$bob" | json_field '["result"][0]')"
  done
}
echo "Balances before:"; balances
# One console session reads the commands (the current transaction lives in the session, as in WeCross's console).
xa_session() { "$bin/weft" --echo; }
xa_session <<EOF
startTransaction payment.ledger1.token payment.ledger2.token
execTransaction payment.ledger1.token transfer $bob 100
execTransaction payment.ledger2.token transfer $bob 100
commitTransaction
listXATransactions 5
EOF
echo "Balances after the commit (both moved):"; balances

say "A second XA transfer, rolled back: each chain is restored exactly"
xa_session <<EOF
startTransaction payment.ledger1.token payment.ledger2.token
execTransaction payment.ledger1.token transfer $bob 40
execTransaction payment.ledger2.token transfer $bob 40
callTransaction payment.ledger1.token balanceOf $bob
rollbackTransaction
EOF
echo "Balances after the rollback (unchanged since the commit):"; balances

say "An HTLC swap between the chains: alice's 100 tokens on ledger1 for bob's 50 on ledger2, no middleman"
weft sendTransaction payment.ledger2.token mint "$bob" 500 >/dev/null
weft genSecretAndHash | tee "$data/secret.txt"
secret=$(awk '/^secret:/ {print $2}' "$data/secret.txt")
hash=$(awk '/^hash:/ {print $2}' "$data/secret.txt")
weft genTimelock payment.ledger1 payment.ledger2 5 | tee "$data/timelocks.txt"
t_participant=$(awk '/^participant timelock:/ {print $3}' "$data/timelocks.txt")
t_initiator=$(awk '/^initiator timelock:/ {print $3}' "$data/timelocks.txt")
echo "Balances before: alice on ledger2 $("$bin/weft" --json call payment.ledger2.token balanceOf "$alice" | json_field '["result"][0]'), bob on ledger1 $("$bin/weft" --json call payment.ledger1.token balanceOf "$bob" | json_field '["result"][0]')"
# The router holds the secret (sealed), so it claims bob's lock for alice once both locks are final; that reveals
# the secret on ledger2, and the router claims alice's lock for bob with it at once.
weft newHTLCProposal payment.ledger1.htlc alice 100 "$t_initiator" payment.ledger2.htlc bob 50 "$t_participant" "$hash" "$secret" | tee "$data/swap.txt"
swap=$(awk '/^proposal accepted: swap/ {print $4}' "$data/swap.txt")
for _ in $(seq 1 100); do
  state=$("$bin/weft" --json checkTransferStatus "$swap" | json_field '["state"]')
  [ "$state" = completed ] || [ "$state" = refunded ] || [ "$state" = failed ] && break
  sleep 0.1
done
weft checkTransferStatus "$swap"
echo "Balances after: alice on ledger2 $("$bin/weft" --json call payment.ledger2.token balanceOf "$alice" | json_field '["result"][0]'), bob on ledger1 $("$bin/weft" --json call payment.ledger1.token balanceOf "$bob" | json_field '["result"][0]')"

say "For operators: health and Prometheus metrics on their own port (metrics.listen)"
printf '$ curl -s http://127.0.0.1:9250/health/ready\n'
curl -s http://127.0.0.1:9250/health/ready
printf '$ curl -s http://127.0.0.1:9250/metrics | grep -E "^weft_(chain_up|chain_height|rpc_requests_total|xa_transactions)"\n'
curl -s http://127.0.0.1:9250/metrics | grep -E '^weft_(chain_up|chain_height|rpc_requests_total|xa_transactions)' || true

say "Stopping the router (SIGTERM: it drains requests, closes the chain and exits)"
kill "$router_pid"
wait "$router_pid" && echo "weft-router stopped cleanly"
router_pid=""
say "Done. The router's log was:"
tail -n 15 "$log"
