#!/usr/bin/env bash
# Builds nettopo: the eBPF programs and the Node-API collector addon (scripts/build-native.sh), then the
# TypeScript sources into dist/. Each part is built only when its inputs changed since its last build
# (a stamp of their contents is kept beside the output); it says which part it builds and why, or that
# nothing changed. `--force` builds everything.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
if [ "${1:-}" = --force ]; then force=1; fi

# The contents of the files a part is built from, one "sha1  path" line each (sorted), plus the Node
# version for the addon: any change makes a new stamp.
stamp_of() {
  { find "$@" -type f ! -path '*/build/*' ! -path '*/node_modules/*' ! -name '*.skel.h' ! -name 'vmlinux.h' \
      -print0 2>/dev/null | sort -z | xargs -0 -r sha1sum; } || true
}

# build_part NAME STAMPFILE OUTPUT COMMAND... -- INPUTS...
build_part() {
  local name=$1 stampfile=$2 output=$3
  shift 3
  local cmd=()
  while [ "$1" != -- ]; do cmd+=("$1"); shift; done
  shift
  local now
  now=$(stamp_of "$@"; echo "node $(node -v)")
  if [ "$force" = 0 ] && [ -e "$output" ] && [ -f "$stampfile" ] && [ "$now" = "$(cat "$stampfile")" ]; then
    echo "build: $name unchanged since its last build" >&2
    return
  fi
  local why="no previous build"
  if [ "$force" = 1 ]; then
    why="--force"
  elif [ -e "$output" ] && [ -f "$stampfile" ]; then
    local changed
    changed=$( (diff <(cat "$stampfile") <(echo "$now") || true) |
      sed -n 's/^[<>] [0-9a-f]*  //p;s/^[<>] \(node .*\)/\1/p' | sort -u)
    local n
    n=$(echo "$changed" | wc -l)
    why="changed: $(echo "$changed" | head -5 | paste -sd ' ')"
    if [ "$n" -gt 5 ]; then why="$why and $((n - 5)) more"; fi
  fi
  echo "build: building $name ($why)" >&2
  local t0=$SECONDS
  "${cmd[@]}"
  mkdir -p "$(dirname "$stampfile")"
  echo "$now" >"$stampfile"
  echo "build: $name built in $((SECONDS - t0)) s" >&2
}

build_part "the BPF programs and the addon" collector-native/build/.nettopo-stamp \
  collector-native/build/Release/nettopo_native.node \
  bash -c 'bash scripts/build-native.sh >/dev/null' -- bpf collector-native scripts/build-native.sh

build_part "the TypeScript sources" dist/.nettopo-stamp dist/cli/main.js \
  npm run --silent build -- \
  cli common config stack contract patches kafka events collector ingest graph-schema k8s metrics reports \
  tsconfig.json tsconfig.build.json package-lock.json
