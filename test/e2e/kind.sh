#!/usr/bin/env bash
# End-to-end on a kind cluster, for machines with Docker: build the image, create a cluster, load the image,
# install config/default, run examples/basic.yaml, wait for Ready, send a Cowrie brute force and see the incident.
#
#   bash test/e2e/kind.sh            # everything; deletes the cluster at the end (KEEP_CLUSTER=1 keeps it)
#   bash test/e2e/kind.sh attack URL INGEST_TOKEN ADMIN_PASSWORD
#                                    # only the attack against a detector you reach at URL
#
# Needs docker, kind, kubectl, curl. Settings: KIND_CLUSTER (minixdr-e2e), IMAGE (ghcr.io/minixdr/minixdr:<version>),
# E2E_NAMESPACE (minixdr-e2e), LOCAL_PORT (18080), KEEP_CLUSTER (0).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# Routes and names come from the code: detector/ingest/ingestRoutes.ts and formats.ts (POST /api/v1/ingest/cowrie),
# detector/api/userRoutes.ts (POST /api/v1/auth/login), detector/api/incidentRoutes.ts (GET /api/v1/incidents),
# operator/render/meta.ts (<name>-detector Service, <name>-secrets Secret), operator/render/secrets.ts (secret keys).
ingest_path="/api/v1/ingest/cowrie?wait=true"
login_path=/api/v1/auth/login
incidents_path=/api/v1/incidents
attacker_ip=203.0.113.77

# Eight failed SSH logins from one address within a few seconds: over the brute-force threshold (6 in 60 s).
cowrie_brute_force() {
  local i now
  now="$(date -u +%Y-%m-%dT%H:%M:%S)"
  for i in 1 2 3 4 5 6 7 8; do
    printf '{"eventid":"cowrie.login.failed","timestamp":"%s.%03dZ","src_ip":"%s","src_port":%d,"dst_port":22,"session":"e2e%04d","sensor":"kind-e2e","username":"root","password":"guess%d","message":"login attempt [root/guess%d] failed"}\n' \
      "$now" "$i" "$attacker_ip" "$((40000 + i))" "$i" "$i" "$i"
  done
}

# Sends the attack to a detector at $1 with ingest token $2, logs in as admin with password $3, and finds the incident.
attack() {
  local url="$1" token="$2" password="$3" reply jwt incidents
  log "sending a Cowrie brute force from $attacker_ip to $url$ingest_path"
  reply="$(cowrie_brute_force | curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/x-ndjson' --data-binary @- "$url$ingest_path")" \
    || die "ingest refused the events"
  log "ingest answered: $reply"
  log "logging in as admin"
  reply="$(curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$url$login_path")" \
    || die "admin login refused"
  jwt="$(printf '%s' "$reply" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
  [[ -n "$jwt" ]] || die "no token in the login reply"
  incidents="$(curl -fsS -H "Authorization: Bearer $jwt" "$url$incidents_path?limit=100")" || die "listing incidents failed"
  if ! printf '%s' "$incidents" | grep -q "\"sourceIp\":\"$attacker_ip\"" || ! printf '%s' "$incidents" | grep -q '"T1110'; then
    die "no brute-force incident (T1110) from $attacker_ip in: $incidents"
  fi
  log "incident raised: brute force (ATT&CK T1110) from $attacker_ip"
  printf '%s\n' "$incidents"
}

if [[ "${1:-}" == "attack" ]]; then
  [[ $# -eq 4 ]] || die "usage: $0 attack URL INGEST_TOKEN ADMIN_PASSWORD"
  attack "$2" "$3" "$4" >/dev/null
  exit 0
fi

for tool in docker kind kubectl curl; do
  command -v "$tool" >/dev/null || die "$tool is needed (this test runs on machines with Docker)"
done

cluster="${KIND_CLUSTER:-minixdr-e2e}"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json")"
default_image="ghcr.io/minixdr/minixdr:$version"
image="${IMAGE:-$default_image}"
ns="${E2E_NAMESPACE:-minixdr-e2e}"
port="${LOCAL_PORT:-18080}"
k=(kubectl --context "kind-$cluster")
pf_pid=""
created_cluster=0

cleanup() {
  local rc=$?
  [[ -n "$pf_pid" ]] && kill "$pf_pid" 2>/dev/null || true
  if [[ $rc -ne 0 ]] && kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    log "diagnostics:"
    "${k[@]}" -n minixdr-system get pods -o wide >&2 || true
    "${k[@]}" -n minixdr-system logs deployment/minixdr-operator --tail=50 >&2 || true
    "${k[@]}" -n "$ns" get minixdr,deployments,pods -o wide >&2 || true
    "${k[@]}" -n "$ns" describe minixdr basic >&2 || true
  fi
  if [[ "${KEEP_CLUSTER:-0}" == "1" ]]; then
    log "keeping cluster $cluster (kind delete cluster --name $cluster)"
  elif [[ $created_cluster -eq 1 ]]; then
    log "deleting cluster $cluster"
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit $rc
}
trap cleanup EXIT

log "building $image"
docker build -t "$image" --build-arg VERSION="$version" "$repo"

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "reusing kind cluster $cluster"
else
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 120s
  created_cluster=1
fi

log "loading $image into the cluster"
kind load docker-image "$image" --name "$cluster"

log "installing config/default (CRD, RBAC, operator)"
"${k[@]}" apply --server-side -k "$repo/config/default"
if [[ "$image" != "$default_image" ]]; then
  "${k[@]}" -n minixdr-system set image deployment/minixdr-operator operator="$image"
fi
"${k[@]}" -n minixdr-system rollout status deployment/minixdr-operator --timeout=180s

log "creating namespace $ns (Pod Security restricted) and MiniXdr basic from examples/basic.yaml"
"${k[@]}" create namespace "$ns" --dry-run=client -o yaml | "${k[@]}" apply -f -
"${k[@]}" label namespace "$ns" pod-security.kubernetes.io/enforce=restricted --overwrite
"${k[@]}" -n "$ns" apply -f "$repo/examples/basic.yaml"
if [[ "$image" != "$default_image" ]]; then
  "${k[@]}" -n "$ns" patch minixdr basic --type merge -p "{\"spec\":{\"detector\":{\"image\":\"$image\"}}}"
fi

log "waiting for MiniXdr basic to be Ready"
"${k[@]}" -n "$ns" wait --for=condition=Ready minixdr/basic --timeout=300s

log "port-forwarding service basic-detector to 127.0.0.1:$port"
"${k[@]}" -n "$ns" port-forward service/basic-detector "$port:8080" >/dev/null 2>&1 &
pf_pid=$!
for _ in $(seq 1 30); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || die "the detector is not ready behind the port-forward"

secret() { "${k[@]}" -n "$ns" get secret basic-secrets -o "jsonpath={.data.$1}" | base64 -d; }
attack "http://127.0.0.1:$port" "$(secret ingest-token)" "$(secret admin-password)"
log "PASSED"
