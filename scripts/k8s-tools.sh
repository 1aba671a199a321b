#!/usr/bin/env bash
# The tools that check deploy/ (versions in deploy/tools.versions and stack/kube/versions), built from the Go
# module proxy into $NETTOPO_TOOLS_CACHE_DIR or ~/.cache/nettopo/tools: helm, kubeconform, and kubeconform's JSON
# schemas of the Kubernetes API (from k8s.io/kubernetes' api/openapi-spec/v3) and of the ServiceMonitor CRD (from
# prometheus-operator's example/prometheus-operator-crd), strict: an unknown field is an error. What is cached is
# used as is: a second run builds and downloads nothing. Cold, on 2 busy cores: helm ~10 min, the rest ~30 s.
#
#   bash scripts/k8s-tools.sh           build what is missing; print "helm <path>", "kubeconform <path>",
#                                       "schemas <folder>" and "servicemonitor-crd <file>", one a line
#   bash scripts/k8s-tools.sh --check   exit 0 when everything is cached, 1 otherwise (builds nothing)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

version_of() { awk -v n="$1" '$1 == n { print $2 }' deploy/tools.versions; }
helm_version=$(version_of helm)
kubeconform_version=$(version_of kubeconform)
# The API the manifests are validated against: the stack's own kube-apiserver's (stack/kube/versions).
kube_version=$(awk '$1 == "kube-apiserver" { print $2 }' stack/kube/versions)
promop_version=$(version_of prometheus-operator)
cache=${NETTOPO_TOOLS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nettopo/tools}
helm_bin=$cache/helm-$helm_version/helm
kubeconform_bin=$cache/kubeconform-$kubeconform_version/kubeconform
schemas=$cache/schemas-kubernetes-$kube_version-prometheus-operator-$promop_version
crd=$schemas/crds/monitoring.coreos.com_servicemonitors.yaml

report() {
  echo "helm $helm_bin"
  echo "kubeconform $kubeconform_bin"
  echo "schemas $schemas"
  echo "servicemonitor-crd $crd"
}
cached() { [ -x "$helm_bin" ] && [ -x "$kubeconform_bin" ] && [ -f "$schemas/.complete" ]; }

if [ "${1:-}" = --check ]; then
  cached
  exit
fi
if cached; then
  report
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "k8s-tools: go not found; Go 1.26 or newer builds helm $helm_version (Debian 12's golang-go is too old: install Go from go.dev/dl)" >&2
  exit 1
fi

mkdir -p "$cache"
# One build at a time per cache (worktrees share it); the others wait and then find the tools.
exec 9>"$cache/.build.lock"
flock 9
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# go install <module>/<package>@<version> into the folder of $1, renamed into place only when complete.
install() {
  local target=$1 pkg=$2 t0=$SECONDS work
  [ -x "$target" ] && return 0
  echo "k8s-tools: building $pkg" >&2
  work=$(mktemp -d "$cache/.work-XXXXXX")
  GOBIN=$work go install -trimpath -ldflags "-s -w" "$pkg" >&2 || { rm -rf "$work"; return 1; }
  mkdir -p "$(dirname "$target")"
  mv "$work/$(basename "$target")" "$target"
  rm -rf "$work"
  echo "k8s-tools: $(basename "$target") built in $((SECONDS - t0)) s" >&2
}
install "$kubeconform_bin" "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version"
install "$helm_bin" "helm.sh/helm/${helm_version%%.*}/cmd/helm@$helm_version"

# A module's folder in the module cache (downloaded once; `go mod download` checks it against sum.golang.org).
module_dir() {
  go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}
if [ ! -f "$schemas/.complete" ]; then
  echo "k8s-tools: making the schemas of Kubernetes $kube_version and the ServiceMonitor CRD" >&2
  kube_dir=$(module_dir "k8s.io/kubernetes@$kube_version")
  promop_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$promop_version")
  rm -rf "$schemas.tmp"
  mkdir -p "$schemas.tmp/crds"
  cp "$promop_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$schemas.tmp/crds/"
  node node_modules/tsx/dist/cli.mjs scripts/k8s-schemas.ts --out "$schemas.tmp" \
    "$kube_dir/api/openapi-spec/v3" "$schemas.tmp/crds/monitoring.coreos.com_servicemonitors.yaml" >&2
  touch "$schemas.tmp/.complete"
  rm -rf "$schemas"
  mv "$schemas.tmp" "$schemas"
fi
report
