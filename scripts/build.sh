#!/usr/bin/env bash
# Builds nettopo: the TypeScript sources into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- eBPF programs and the Node-API collector addon: their build goes here (bpf/, collector-native/) ---

npm run --silent build
