#!/usr/bin/env bash
# Renders the Helm chart (deploy/helm/nettopo) with its defaults into deploy/kubernetes/nettopo.yaml: release
# `nettopo` in namespace `nettopo`, after a Namespace whose Pod Security level admits the collector (host PID
# and network namespaces, added capabilities). test/deploy.test.ts renders it again and compares.
#
#   bash scripts/render-manifests.sh            write deploy/kubernetes/nettopo.yaml
#   bash scripts/render-manifests.sh --stdout   print it instead
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

helm=$(bash scripts/k8s-tools.sh | awk '$1 == "helm" { print $2 }')
render() {
  cat <<'HEAD'
# nettopo on Kubernetes: deploy/helm/nettopo rendered with its defaults by scripts/render-manifests.sh.
# Edit the chart (or install it with your values), not this file. See deploy/README.md.
---
apiVersion: v1
kind: Namespace
metadata:
  name: nettopo
  labels:
    # The collector shares the node's PID and network namespaces and adds capabilities.
    pod-security.kubernetes.io/enforce: privileged
HEAD
  "$helm" template nettopo deploy/helm/nettopo --namespace nettopo
}
if [ "${1:-}" = --stdout ]; then
  render
else
  render >deploy/kubernetes/nettopo.yaml
  echo "render-manifests: deploy/kubernetes/nettopo.yaml" >&2
fi
