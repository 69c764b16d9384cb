#!/usr/bin/env bash
# Installs what the benchmarks need beyond the build: etcd (the baseline the reference chain is compared with).
# Idempotent: does nothing when it is present.
set -euo pipefail
command -v etcd >/dev/null 2>&1 && exit 0
echo "weft: installing etcd-server"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
