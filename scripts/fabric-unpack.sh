#!/usr/bin/env bash
# Unpacks the Hyperledger Fabric release archive that WEFT_FABRIC_ARCHIVE names (Fabric's official
# hyperledger-fabric-linux-amd64-2.5.x.tar.gz, or the project's shared fabric-2.5.12-linux-amd64.tar.xz) into DIR, for
# the Fabric integration tests (WEFT_FABRIC_DIR=DIR). Idempotent: a stamp holds the archive's sha256. Without an
# archive it says so and succeeds, and those tests report themselves skipped. Usage: scripts/fabric-unpack.sh DIR
set -euo pipefail
dir=${1:?usage: fabric-unpack.sh DIR}
archive=${WEFT_FABRIC_ARCHIVE:-}
if [ -z "$archive" ]; then
  echo "weft: WEFT_FABRIC_ARCHIVE is not set; the Fabric integration tests will be skipped"
  exit 0
fi
[ -f "$archive" ] || { echo "weft: WEFT_FABRIC_ARCHIVE=$archive does not exist" >&2; exit 1; }
sum=$(sha256sum "$archive" | cut -d' ' -f1)
if [ -f "$dir/.weft-archive" ] && [ "$(cat "$dir/.weft-archive")" = "$sum" ]; then
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
tar -xf "$archive" -C "$dir"
echo "$sum" >"$dir/.weft-archive"
echo "weft: unpacked $(basename "$archive") into $dir"
