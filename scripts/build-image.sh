#!/usr/bin/env bash
# Builds nettopo's container image (Containerfile) with podman, with no registry: both stages start from Debian 12
# root filesystems that mmdebstrap makes from Debian's packages (the package lists are the Containerfile's
# BUILD_PACKAGES and RUNTIME_PACKAGES), cached as tarballs in $NETTOPO_IMAGE_CACHE_DIR or ~/.cache/nettopo/image
# and imported once as localhost/nettopo-base:<stage>-<hash>; Node.js and npm (scripts/runtime.versions) come from
# the npm registry into ~/.cache/nettopo/node. Prints the image's name (localhost/nettopo:<version>) on stdout;
# podman's output goes to build/image-build.log. Unchanged sources: every layer is reused (~5 s).
#
#   bash scripts/build-image.sh             build (what changed), print the image name
#   bash scripts/build-image.sh --refresh   make the Debian root filesystems again (newer packages), then build
#
# podman runs with runc: crun refuses hosts with hybrid cgroups (v1 controllers + v2), as ours are.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

for tool in podman mmdebstrap runc; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-image: $tool not found (run scripts/install-deps.sh, or apt-get install podman mmdebstrap runc)" >&2
    exit 1
  fi
done
refresh=${1:-}
podman=(podman --runtime runc)
suite=bookworm
mirror=${NETTOPO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${NETTOPO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${NETTOPO_IMAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nettopo/image}
mkdir -p "$cache" build
log=$PWD/build/image-build.log
: >"$log"

# A package list from the Containerfile (ARG <NAME>="..."), so that the list lives in one place.
packages_of() {
  local list
  list=$(sed -n "s/^ARG $1=\"\(.*\)\"$/\1/p" Containerfile)
  [ -n "$list" ] || { echo "build-image: no ARG $1 in Containerfile" >&2; exit 1; }
  echo "$list"
}

# The base image of one stage: a minbase root filesystem plus the stage's packages, made once per package list.
base_image() {
  local stage=$1 packages key tar image
  packages=$(packages_of "$2")
  key=$(printf '%s\n' "$suite" "$mirror" "$security" "$packages" | sha256sum | cut -c1-12)
  tar=$cache/rootfs-$stage-$key.tar
  image=localhost/nettopo-base:$stage-$key
  (
    # One mmdebstrap at a time per cache (worktrees share it); the others wait, then find the tarball.
    exec 9>"$cache/.rootfs.lock"
    flock 9
    if [ "$refresh" = --refresh ] || [ ! -f "$tar" ]; then
      echo "build-image: making the $stage root filesystem (Debian $suite: $packages)" >&2
      local t0=$SECONDS
      mmdebstrap --quiet --format=tar --variant=minbase --include="${packages// /,}" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
        "$suite" "$tar.tmp" \
        "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" \
        >>"$log" 2>&1 || { tail -20 "$log" >&2; rm -f "$tar.tmp"; exit 1; }
      mv "$tar.tmp" "$tar"
      "${podman[@]}" rmi -f "$image" >/dev/null 2>&1 || true
      echo "build-image: $stage root filesystem made in $((SECONDS - t0)) s ($(du -m "$tar" | cut -f1) MB)" >&2
    fi
    if ! "${podman[@]}" image exists "$image"; then
      "${podman[@]}" import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' "$tar" "$image" >/dev/null
    fi
  ) >&2 || exit 1
  echo "$image"
}

node_version=$(awk '$1 == "node" { print $2 }' scripts/runtime.versions)
npm_version=$(awk '$1 == "npm" { print $2 }' scripts/runtime.versions)
node_dir=$(dirname "$(dirname "$(bash scripts/node-lts.sh)")")
npm_dir=$(bash scripts/fetch-npm-package.sh "npm@$npm_version" \
  "${NETTOPO_NODE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nettopo/node}/npm-$npm_version")
build_base=$(base_image build BUILD_PACKAGES)
runtime_base=$(base_image runtime RUNTIME_PACKAGES)

# The CAs this machine trusts, for the build stage's `npm ci` (a TLS-inspecting proxy's CA included).
mkdir -p build/image-ca
cp "${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}" build/image-ca/ca.crt

version=$(node -p 'require("./package.json").version')
image=localhost/nettopo:$version
t0=$SECONDS
# --network host: `npm ci` in the build stage reaches the npm registry as this machine does.
if ! "${podman[@]}" build --network host --layers -f Containerfile -t "$image" \
  --build-context "node=$node_dir" --build-context "npm=$npm_dir" --build-context build-ca=build/image-ca \
  --build-arg "BUILD_BASE=$build_base" --build-arg "RUNTIME_BASE=$runtime_base" \
  --label "io.nettopo.node=$node_version" --label "io.nettopo.base=$runtime_base" . >>"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "build-image: podman build failed (whole log: $log)" >&2
  exit 1
fi
if ((SECONDS - t0 > 10)); then echo "build-image: $image built in $((SECONDS - t0)) s" >&2; fi
# Earlier builds' untagged images (the build stage of older sources: ~1 GB each) go after three days.
"${podman[@]}" image prune -f --filter until=72h >/dev/null 2>&1 || true
echo "$image"
