#!/usr/bin/env bash
# Installs the pinned npm packages the EVM tests and benchmarks run against (tests/evm/package.json: anvil, solc,
# ethers) into DIR/node_modules, with Node.js and npm from Debian if they are missing. Idempotent and quick when the
# installed set already matches the lock file. Usage: scripts/npm-deps.sh DIR
set -euo pipefail
dir=${1:?usage: npm-deps.sh DIR}
src="$(cd "$(dirname "$0")/.." && pwd)/tests/evm"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "weft: installing nodejs npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

mkdir -p "$dir"
stamp="$dir/node_modules/.weft-lock"
if [ -f "$stamp" ] && cmp -s "$stamp" "$src/package-lock.json"; then
  exit 0
fi
# One installer at a time: ctest may start several tests that need these packages.
exec 9>"$dir/.install.lock"
flock 9
if [ -f "$stamp" ] && cmp -s "$stamp" "$src/package-lock.json"; then
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
echo "weft: installing the EVM test tools (anvil, solc, ethers) into $dir"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
"$dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" --version >/dev/null
cp "$src/package-lock.json" "$stamp"
