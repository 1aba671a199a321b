#!/usr/bin/env bash
# Unpacks one npm registry package (name@version) into a folder, once: `npm pack` fetches it through npm's own
# client and cache and checks it against the registry's integrity hash. The folder is complete when it holds
# `.complete`; a second call prints its path and does nothing else.
#
#   bash scripts/fetch-npm-package.sh <name@version> <folder>
set -euo pipefail
spec=$1 dest=$2

if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$(dirname "$dest")"
# One fetch at a time per cache folder (worktrees share it); the others wait, then find it complete.
exec 9>"$(dirname "$dest")/.fetch.lock"
flock 9
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
work=$(mktemp -d "$(dirname "$dest")/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch: $spec from the npm registry" >&2
tarball=$(cd "$work" && npm pack "$spec" --silent --no-audit --no-fund --loglevel=error)
mkdir "$work/unpacked"
tar -xzf "$work/$tarball" -C "$work/unpacked" --strip-components=1
touch "$work/unpacked/.complete"
rm -rf "$dest"
mv "$work/unpacked" "$dest"
echo "$dest"
