#!/usr/bin/env bash
# Builds nettopo: the eBPF programs and the Node-API collector addon (scripts/build-native.sh), then the
# TypeScript sources into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-native.sh >/dev/null

npm run --silent build
