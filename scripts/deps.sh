#!/usr/bin/env bash
# Installs the Debian packages Weft needs to build and test. Idempotent: does nothing when all are present. Node.js and
# npm are among them: the build runs them (solc for the EVM stubs, Fabric's .proto files), and two build steps must
# not race to install them.
set -euo pipefail
pkgs=(
  cmake ninja-build ccache pkg-config g++ make
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev libyaml-cpp-dev libsqlite3-dev libspdlog-dev libfmt-dev
  doctest-dev libsecp256k1-dev libcli11-dev libedit-dev
  curl procps python3 python3-prometheus-client openssl
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm count as present when their commands run, whoever packaged them: a machine whose Node.js comes
# from another repository (with npm inside it) cannot take Debian's npm package beside it, so asking apt for it would
# fail. Debian's packages are the fallback when either command is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "weft: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
