#!/usr/bin/env bash
# The main job on one machine: install what is missing, build, start the local stack (Kafka, Neo4j with
# Browser, Redis on 127.0.0.1) and print its status. Stop it with `node dist/cli/main.js stack down`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
node dist/cli/main.js stack up
node dist/cli/main.js stack status
