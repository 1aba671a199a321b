#!/usr/bin/env bash
# Builds the BPF object and skeleton (bpf/), then the Node-API addon that embeds it.
# The addon is built against the headers of the Node.js that runs it (no download).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
make -C "$root/bpf"
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "build-native: Node.js headers not found at $nodedir/include/node (install the Node.js that ships them)" >&2
  exit 1
fi
cd "$root/collector-native"
npx node-gyp rebuild --nodedir="$nodedir" --loglevel=warn
