#!/usr/bin/env bash
# The whole test run, as CI does it: install what is missing (kube-apiserver and etcd included), build (the image
# too), start the local stack and its Kubernetes API server, run mocha against the real servers on the host's
# Node 20, then the runtime part of the suite on the Node.js LTS (scripts/test-node-lts.sh), and stop them again,
# also when tests fail. Exits non-zero when either run failed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --kube
bash scripts/build.sh
bash scripts/build-image.sh >/dev/null

nettopo() { node dist/cli/main.js "$@"; }
trap 'nettopo stack down || true' EXIT
nettopo stack up
nettopo stack up kube

status=0
npx mocha 'test/**/*.test.ts' || status=$?
bash scripts/test-node-lts.sh || status=$?
exit "$status"
