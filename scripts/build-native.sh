#!/usr/bin/env bash
# Builds the BPF object and skeleton (bpf/), then the Node-API addon that embeds it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
make -C "$root/bpf"
cd "$root/collector-native"
npx node-gyp rebuild --nodedir=/usr
