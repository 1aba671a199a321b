#!/usr/bin/env bash
# The part of the suite that also runs on the Node.js LTS of scripts/runtime.versions (Node 24), after the whole
# suite ran on the host's Node 20 (scripts/test.sh runs both, against the same local stack). The LTS comes from
# the npm registry into a cache (scripts/node-lts.sh) and the addon is built again with its headers, beside the
# Node 20 build (build/node-v<version>/). Exits with mocha's status.
#
# The part: what touches the runtime — the addon loaded and the collector collecting real flows (collector-native,
# collect-cli), the codec and flow reader, the kafkajs and neo4j-driver fast paths (they lean on Buffer and
# library internals), the collector producing to Kafka, the ingest against the real Kafka and Neo4j (dead
# letters), and the whole pipeline (e2e-fleet). ~1.5 min here; the whole suite twice would double CI time.
set -euo pipefail
cd "$(dirname "$0")/.."

node=$(bash scripts/node-lts.sh)
NETTOPO_NATIVE=$(bash scripts/build-native.sh "$node")
export NETTOPO_NATIVE
export PATH="$(dirname "$node"):$PATH"
echo "test-node-lts: the suite's runtime part on Node.js $("$node" -v)" >&2

files=(
  node-runtime collector-native collect-cli
  contract-codec contract-flow-reader contract-evolution
  kafkajs-patches bolt-primitives bolt-chunking
  transport-collector-roundtrip ingest-dead-letter e2e-fleet
)
specs=()
for f in "${files[@]}"; do specs+=("test/$f.test.ts"); done
exec "$node" node_modules/mocha/bin/mocha.js "${specs[@]}"
