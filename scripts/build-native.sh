#!/usr/bin/env bash
# Builds the BPF object and skeleton (bpf/), then the Node-API addon that embeds it.
# The addon is built against the headers of the Node.js that runs it (no download).
#
#   bash scripts/build-native.sh          for the `node` on PATH: collector-native/build/Release/nettopo_native.node
#   bash scripts/build-native.sh <node>   for another Node.js (e.g. the LTS of scripts/node-lts.sh), in a copy of
#                                         collector-native/ under build/node-v<version>/; prints the addon's path
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -eq 0 ]; then make -C "$root/bpf"; else make -C "$root/bpf" >&2; fi
node="$(readlink -f "${1:-$(command -v node)}")"
nodedir="$(dirname "$(dirname "$node")")"
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "build-native: Node.js headers not found at $nodedir/include/node (install the Node.js that ships them)" >&2
  exit 1
fi
gyp=("$node" "$root/node_modules/node-gyp/bin/node-gyp.js" rebuild --nodedir="$nodedir" --loglevel=warn)
if [ $# -eq 0 ]; then
  cd "$root/collector-native"
  "${gyp[@]}"
  exit 0
fi
# Another Node.js: its own copy (binding.gyp finds ../bpf), so that both builds stay side by side.
out="$root/build/node-$("$node" -v)"
mkdir -p "$out/collector-native"
cp -a "$root/collector-native/binding.gyp" "$root/collector-native/src" "$out/collector-native/"
ln -sfn "$root/bpf" "$out/bpf"
cd "$out/collector-native"
"${gyp[@]}" >/dev/null
echo "$out/collector-native/build/Release/nettopo_native.node"
