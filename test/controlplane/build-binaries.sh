#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) from Go modules
# into a cache outside git, keyed by version. A second run with the same versions does nothing.
# Honours the envtest conventions: with KUBEBUILDER_ASSETS (or the TEST_ASSET_* variables) set, nothing is built.
# Prints the directory that holds the binaries on its last line of stdout; progress goes to stderr.
set -euo pipefail

# shellcheck source=versions.env
pinned() { sed -n "s/^$1=//p" "$(dirname "${BASH_SOURCE[0]}")/versions.env"; }
K8S_VERSION="${K8S_VERSION:-$(pinned K8S_VERSION)}"
ETCD_VERSION="${ETCD_VERSION:-$(pinned ETCD_VERSION)}"
CACHE_ROOT="${MINIXDR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minixdr}"
OUT="$CACHE_ROOT/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
BUILD_ROOT="$CACHE_ROOT/controlplane/build"

if [ "${1:-}" = "--print-cache-dir" ]; then echo "$OUT"; exit 0; fi

log() { printf '[control-plane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver kube-controller-manager; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"; exit 1; }
  done
  log "using envtest binaries from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS; nothing to build"
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi
if [ -n "${TEST_ASSET_KUBE_APISERVER:-}" ] && [ -n "${TEST_ASSET_ETCD:-}" ] && [ -n "${TEST_ASSET_KUBE_CONTROLLER_MANAGER:-}" ]; then
  log "using binaries from TEST_ASSET_* variables; nothing to build"
  echo "env"
  exit 0
fi

want=(etcd kube-apiserver kube-controller-manager kubectl)
have_all=1
for b in "${want[@]}"; do [ -x "$OUT/$b" ] || have_all=0; done
if [ "$have_all" = 1 ]; then
  log "cached: $OUT (k8s $K8S_VERSION, etcd $ETCD_VERSION)"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build the control plane (https://go.dev/dl); or set KUBEBUILDER_ASSETS to existing envtest binaries"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$OUT" "$BUILD_ROOT"
started=$(date +%s)

# Print a heartbeat while a long step runs, so nobody stares at a silent terminal.
with_heartbeat() {
  local what="$1"; shift
  "$@" &
  local pid=$! t=0 rc=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5; t=$((t + 5))
    if [ $((t % 30)) = 0 ]; then log "$what: still working (${t}s)"; fi
  done
  wait "$pid" || rc=$?
  return $rc
}

build_etcd() {
  local dir="$BUILD_ROOT/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module minixdr.local/etcdbuild

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  log "etcd $ETCD_VERSION: resolving modules"
  (cd "$dir" && with_heartbeat "etcd: go get" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  log "etcd $ETCD_VERSION: compiling"
  (cd "$dir" && with_heartbeat "etcd: go build" go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

build_kubernetes() {
  local dir="$BUILD_ROOT/k8s-$K8S_VERSION"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$dir"
  log "kubernetes $K8S_VERSION: downloading k8s.io/kubernetes (large; first run only)"
  local gomod
  gomod=$(cd "$dir" && with_heartbeat "kubernetes: go mod download" go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  {
    echo "module minixdr.local/k8sbuild"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # Every staging module the tag replaces with ./staging/src/... becomes its published v0.N.P module.
    grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  log "kubernetes $K8S_VERSION: $(grep -c '^replace' "$dir/go.mod") staging modules pinned to $staging; resolving dependencies"
  (cd "$dir" && with_heartbeat "kubernetes: go get" go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION")
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for b in kube-apiserver kube-controller-manager kubectl; do
    log "kubernetes $K8S_VERSION: compiling $b (several minutes on 2 cores)"
    (cd "$dir" && with_heartbeat "$b: go build" go build -trimpath -ldflags "$ld" -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$OUT/$b.tmp" "$OUT/$b"
  done
}

[ -x "$OUT/etcd" ] || build_etcd
if [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ] || [ ! -x "$OUT/kubectl" ]; then
  build_kubernetes
fi
log "built into $OUT in $(( $(date +%s) - started ))s"
echo "$OUT"
