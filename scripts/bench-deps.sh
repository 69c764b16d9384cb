#!/usr/bin/env bash
# Installs what the benchmarks need beyond the build: etcd (the baseline the reference chain is compared with) and
# nginx (the plain HTTP server the router's RPC is compared with, and a plain TCP proxy). Idempotent: installs only
# what is missing.
set -euo pipefail
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# nginx lives in sbin, which a plain user's PATH may lack.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
# nginx's stream module: nginx as a plain TCP proxy in front of the reference chain's nodes prices the hop itself.
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
[ ${#need[@]} -eq 0 ] && exit 0
echo "weft: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# The packages' scripts would start system-wide etcd and nginx services; the benchmarks start their own, on free
# ports, so forbid service starts for the install (Debian's policy-rc.d: exit 101) unless a policy already exists.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
