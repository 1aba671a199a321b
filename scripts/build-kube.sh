#!/usr/bin/env bash
# Builds kube-apiserver and etcd (versions in stack/kube/versions) from the Go module proxy into a persistent
# cache, $NETTOPO_KUBE_CACHE_DIR or ~/.cache/nettopo/kube/<name>-<version>/<name>. A binary already cached is
# used as is: a second run builds and downloads nothing. Cold, on 2 cores: ~6 min and ~4 GB of Go caches.
#
#   bash scripts/build-kube.sh           build what is missing, print the two binaries' paths
#   bash scripts/build-kube.sh --check   exit 0 when both are cached, 1 otherwise (builds nothing)
#
# kubernetes cannot be `go install`ed (its go.mod replaces each k8s.io/<staging> module with ./staging/...),
# so the binary is built inside a wrapper module that requires k8s.io/kubernetes and replaces each staging
# module with its own release (v0.<minor>.<patch>). etcd's server module is a main package; a wrapper module
# requiring it is enough.
set -euo pipefail
cd "$(dirname "$0")/.."

version_of() { awk -v n="$1" '$1 == n { print $2 }' stack/kube/versions; }
kube_version=$(version_of kube-apiserver)
etcd_version=$(version_of etcd)
cache=${NETTOPO_KUBE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nettopo/kube}
apiserver_bin=$cache/kube-apiserver-$kube_version/kube-apiserver
etcd_bin=$cache/etcd-$etcd_version/etcd

if [ "${1:-}" = --check ]; then
  [ -x "$apiserver_bin" ] && [ -x "$etcd_bin" ]
  exit
fi

if [ -x "$apiserver_bin" ] && [ -x "$etcd_bin" ]; then
  echo "$apiserver_bin"
  echo "$etcd_bin"
  exit 0
fi

if ! command -v go >/dev/null; then
  echo "build-kube: go not found; Go 1.25 or newer is needed to build kube-apiserver $kube_version and etcd $etcd_version (apt-get install golang-go is too old on Debian 12: install Go from go.dev/dl)" >&2
  exit 1
fi

mkdir -p "$cache"
# One build at a time per cache (worktrees share it); the others wait and then find the binaries.
exec 9>"$cache/.build.lock"
flock 9

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# etcd reads every ETCD_* variable as a flag; none of ours may leak into anything built or run here.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ETCD_[A-Za-z0-9_]*\)=.*/\1/p')

work=$(mktemp -d "$cache/.work-XXXXXX")
trap 'rm -rf "$work"' EXIT

# Builds one wrapper module in $work/$1 into $2 (renamed into place only when complete).
build() {
  local name=$1 target=$2 pkg=$3 ldflags=$4 t0=$SECONDS
  (
    cd "$work/$name"
    go mod tidy
    go build -trimpath -ldflags "$ldflags" -o "$work/$name/$name.bin" "$pkg"
  )
  mkdir -p "$(dirname "$target")"
  mv "$work/$name/$name.bin" "$target.tmp-$$"
  mv "$target.tmp-$$" "$target"
  echo "build-kube: $name built in $((SECONDS - t0)) s: $target ($(du -m "$target" | cut -f1) MB)" >&2
}

if [ ! -x "$etcd_bin" ]; then
  echo "build-kube: building etcd $etcd_version (cold: ~1 min)" >&2
  mkdir -p "$work/etcd"
  cat >"$work/etcd/go.mod" <<MOD
module nettopo.local/etcd

go 1.25

require go.etcd.io/etcd/server/v3 $etcd_version

tool go.etcd.io/etcd/server/v3
MOD
  build etcd "$etcd_bin" go.etcd.io/etcd/server/v3 "-s -w"
fi

if [ ! -x "$apiserver_bin" ]; then
  echo "build-kube: building kube-apiserver $kube_version (cold: ~6 min on 2 cores, ~2.4 GB of memory)" >&2
  gomod=$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  [ -f "$gomod" ] || { echo "build-kube: go.mod of k8s.io/kubernetes@$kube_version not found" >&2; exit 1; }
  # Staging modules are released as v0.<minor>.<patch> alongside v1.<minor>.<patch>.
  staging_version=v0.${kube_version#v1.}
  staging=$(sed -n 's#^\s*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
  [ -n "$staging" ] || { echo "build-kube: no staging replace lines in $gomod" >&2; exit 1; }
  mkdir -p "$work/kube-apiserver"
  {
    echo "module nettopo.local/kube-apiserver"
    echo
    grep -E '^go [0-9]' "$gomod"
    # The godebug settings kubernetes builds with (a line or a block).
    sed -n '/^godebug (/,/^)/p; /^godebug [^(]/p' "$gomod"
    echo
    echo "require k8s.io/kubernetes $kube_version"
    echo
    echo "tool k8s.io/kubernetes/cmd/kube-apiserver"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >"$work/kube-apiserver/go.mod"
  minor=${kube_version#v1.}
  minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  build kube-apiserver "$apiserver_bin" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
fi

echo "$apiserver_bin"
echo "$etcd_bin"
