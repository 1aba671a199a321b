#!/usr/bin/env bash
# Measures `nettopo stack up`: cold (empty jar cache and empty Maven repository, so every jar is downloaded),
# then warm (jars cached, data dir kept), and the resident memory of each server. Runs on its own ports and
# data dir, so a stack already running on the default ports is not touched. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'node dist/cli/main.js stack down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export NETTOPO_DATA_DIR=$work/data NETTOPO_JARS_DIR=$work/jars NETTOPO_MAVEN_REPO=$work/m2
export NETTOPO_KAFKA_PORT=39092 NETTOPO_KAFKA_CONTROLLER_PORT=39093 NETTOPO_NEO4J_BOLT_PORT=37687
export NETTOPO_NEO4J_HTTP_PORT=37474 NETTOPO_REDIS_PORT=36379

timed() {
  local t0 t1
  t0=$(date +%s%N)
  node dist/cli/main.js stack up >/dev/null 2>"$work/up.log"
  t1=$(date +%s%N)
  printf '%d.%01d' $(((t1 - t0) / 1000000000)) $(((t1 - t0) / 100000000 % 10))
}

cold=$(timed)
echo "cold stack up (downloads $(du -sh "$work/m2" | cut -f1) of jars): ${cold}s"
sleep 5 # let the JVMs settle after start
node dist/cli/main.js stack status
node dist/cli/main.js stack down 2>/dev/null
warm=$(timed)
echo "warm stack up (jars cached, data dir kept): ${warm}s"
