#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, from Debian's packages.
#   start.sh start DIR   installs postgresql if needed, initdb's a cluster in DIR, starts it on 127.0.0.1 and a free
#                        port, creates database "minixdr", and prints its URL as the last line of stdout
#   start.sh stop DIR    stops the cluster in DIR and removes DIR
# Exit 3 means PostgreSQL is not installed and cannot be (no apt-get, or not root): callers may skip outside CI.
# For tests of this harness: MINIXDR_POSTGRES_LIBDIR replaces /usr/lib/postgresql, MINIXDR_POSTGRES_NO_INSTALL=1 forbids apt-get.
set -euo pipefail

command=${1:-}
dir=${2:-}
[[ ($command == start || $command == stop) && -n $dir ]] || { echo "usage: $0 start|stop DIR" >&2; exit 64; }

log() { echo "[postgres] $*" >&2; }

pg_bin() {
  local initdb
  initdb=$(ls -d "${MINIXDR_POSTGRES_LIBDIR:-/usr/lib/postgresql}"/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $initdb ]] && dirname "$initdb"
}

# The server refuses to run as root: as root, run its tools as the postgres user the package creates.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ $command == stop ]]; then
  bin=$(pg_bin || true)
  if [[ -n $bin && -f $dir/data/postmaster.pid ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" stop -m fast -w -t 30 >/dev/null || log "pg_ctl stop failed; see $dir/postgres.log"
  fi
  rm -rf "$dir"
  exit 0
fi

bin=$(pg_bin || true)
if [[ -z $bin ]]; then
  if [[ $(id -u) -ne 0 || ${MINIXDR_POSTGRES_NO_INSTALL:-} == 1 ]] || ! command -v apt-get >/dev/null; then
    log "PostgreSQL is not installed and cannot be installed here (needs root and apt-get): apt-get install postgresql"
    exit 3
  fi
  log "installing postgresql from Debian's packages (once)"
  export DEBIAN_FRONTEND=noninteractive
  # Other test files may be installing packages at the same moment: wait for dpkg's lock instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends postgresql >&2
  bin=$(pg_bin || true)
  [[ -n $bin ]] || { log "postgresql installed but no initdb found under /usr/lib/postgresql"; exit 1; }
fi

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

mkdir -p "$dir"
chmod 0755 "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
port=${PGPORT_WANTED:-$(free_port)}
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
# Throwaway data: durability settings off so tests run fast on small machines; sockets stay inside DIR.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
  start >/dev/null || { log "server did not start:"; tail -n 20 "$dir/postgres.log" >&2; exit 1; }
as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -c "CREATE DATABASE minixdr" >/dev/null
echo "postgres://postgres@127.0.0.1:$port/minixdr"
