#!/usr/bin/env bash
# The main job on one machine, as root: install what is missing, build, then `nettopo up` — the local stack
# (Kafka, Neo4j with Browser on 127.0.0.1), the eBPF collector producing to Kafka, and the ingest writing the
# topology into Neo4j, with a live summary every few seconds. Ctrl-C stops what it started.
# Extra arguments go to `nettopo up` (see `node dist/cli/main.js up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
exec node dist/cli/main.js up "$@"
