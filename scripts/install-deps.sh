#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine needs to build and test nettopo, quietly and only what is missing:
# the eBPF toolchain, Redis, Maven + Java 17, network tools, Chromium (for the Neo4j Browser test), the npm
# packages, Kafka's and Neo4j's jars (through `nettopo stack fetch`), the Node.js LTS nettopo also runs on
# (scripts/node-lts.sh), and podman + mmdebstrap for the image (scripts/build-image.sh). Safe to run again: it then
# does nothing.
#
#   bash scripts/install-deps.sh          what the main job needs
#   bash scripts/install-deps.sh --kube   also what the tests build from the Go module proxy, once per machine (needs
#                                         Go >= 1.26): kube-apiserver and etcd (`nettopo stack fetch kube`, ~9 min on
#                                         2 cores), helm, kubeconform and the Kubernetes schemas (scripts/k8s-tools.sh,
#                                         ~10 min)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make gcc g++ python3 redis-server maven
  openjdk-17-jre-headless iproute2 iptables chromium openssl podman runc mmdebstrap)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts its own redis-server on 127.0.0.1:6379 after installing it; the stack runs its own there.
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
      "${sudo[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
    elif [ -f /run/redis/redis-server.pid ]; then
      "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
      "${sudo[@]}" update-rc.d redis-server disable >/dev/null 2>&1 || true
    fi
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: Node.js 20 or newer is needed (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Kafka's and Neo4j's jars from Maven Central, into the jar cache (nothing is downloaded when cached).
node node_modules/tsx/dist/cli.mjs cli/main.ts stack fetch

if [ "${1:-}" = --kube ] && ! bash scripts/build-kube.sh --check; then
  go_version=$(go env GOVERSION 2>/dev/null || true)
  if [ -z "$go_version" ]; then
    echo "install-deps: Go 1.25 or newer is needed to build kube-apiserver and etcd for the tests; install it from https://go.dev/dl (Debian 12's golang-go is too old)" >&2
    exit 1
  fi
  # kube-apiserver and etcd from the Go module proxy, into ~/.cache/nettopo/kube (nothing is built when cached).
  node node_modules/tsx/dist/cli.mjs cli/main.ts stack fetch kube
fi
if [ "${1:-}" = --kube ]; then
  # helm, kubeconform and the Kubernetes schemas that check deploy/, into ~/.cache/nettopo/tools (quiet when cached).
  bash scripts/k8s-tools.sh >/dev/null
fi

# The Node.js LTS (scripts/runtime.versions) beside the host's Node 20, from the npm registry into a cache.
bash scripts/node-lts.sh >/dev/null
