#!/usr/bin/env bash
# Installs the pinned npm packages the EVM tests and benchmarks run against (tests/evm/package.json: anvil, solc,
# ethers) into DIR/node_modules, with Node.js and npm from Debian if they are missing. Idempotent and quick when the
# installed set already matches the lock file. Usage: scripts/npm-deps.sh DIR [PACKAGE_DIR]; PACKAGE_DIR (default
# tests/evm) holds another package.json and package-lock.json, e.g. the Fabric protos or the Fabric test chaincode.
set -euo pipefail
dir=${1:?usage: npm-deps.sh DIR [PACKAGE_DIR]}
src="$(cd "$(dirname "$0")/.." && pwd)/tests/evm"
[ -n "${2:-}" ] && src="$(cd "$2" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  # scripts/deps.sh installs them before any build; this is for a tree set up otherwise. One apt at a time: the build
  # may run several of these steps at once.
  (
    flock 8
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
      echo "weft: installing nodejs npm"
      SUDO=""
      [ "$(id -u)" -ne 0 ] && SUDO=sudo
      export DEBIAN_FRONTEND=noninteractive
      $SUDO apt-get update -qq
      $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
  ) 8>"${TMPDIR:-/tmp}/weft-apt.lock"
fi

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)" # absolute: npm runs inside it, its log is written from there
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
echo "weft: installing the npm packages of ${src#"$(cd "$(dirname "$0")/.." && pwd)/"} into $dir"
# Node.js trusts its own CA list; the system's store (with any CA the machine's administrator added) is what a Debian
# machine expects to be trusted.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
log="$dir/npm-install.log"
if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
  if grep -qE 'SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_UNTRUSTED' "$log"; then
    # An intercepting proxy whose CA this machine does not trust. Every package is pinned by its sha512 in the lock
    # file, which npm ci checks whatever the transport, so the packages themselves cannot be swapped; say so and go on.
    echo "weft: the npm registry's TLS certificate does not verify here (an intercepting proxy?); installing anyway," \
         "with every package checked against its sha512 in $src/package-lock.json"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --strict-ssl=false >"$log" 2>&1) || { cat "$log" >&2; exit 1; }
  else
    cat "$log" >&2
    exit 1
  fi
fi
if [ -z "${2:-}" ]; then "$dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" --version >/dev/null; fi
cp "$src/package-lock.json" "$stamp"
