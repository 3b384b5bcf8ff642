#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests (and for trying the PostgreSQL store by hand), started on 127.0.0.1 as the
# `postgres` user, as ../shared/SERVICES.md describes. Idempotent: a second `start` finds it up and does nothing.
#
#   scripts/services/postgres.sh start   # installs PostgreSQL when missing, starts it, prints the connection string
#   scripts/services/postgres.sh stop    # stops the cluster it started (by its own pid file, never by name)
#   scripts/services/postgres.sh url     # prints the connection string
#   scripts/services/postgres.sh free-port   # prints a free TCP port on 127.0.0.1
#   scripts/services/postgres.sh standby     # a streaming-replication standby of the cluster on SP_PG_PRIMARY_PORT,
#                                            # made synchronous (the primary waits for it on every commit), started
#   scripts/services/postgres.sh promote     # promotes this cluster (a standby) to primary
#   scripts/services/postgres.sh crash       # stops it the way a crash would (immediate mode: no checkpoint)
#
# Environment: SP_PG_DIR (default /tmp/statepersistence-services/postgres), SP_PG_PORT (default 55432),
# SP_PG_MAX_CONNECTIONS (default 300: several server instances and the benchmark's 64-writer pools at once).
set -euo pipefail

dir=${SP_PG_DIR:-/tmp/statepersistence-services/postgres}
port=${SP_PG_PORT:-55432}
url="Host=127.0.0.1;Port=${port};Username=postgres;Database=postgres"

bin_dir() {
  # Debian keeps the server programs out of PATH; take the newest installed major version.
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ]; then
    echo "Installing PostgreSQL (apt-get install postgresql)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ready() {
  "$1/pg_isready" -q -h 127.0.0.1 -p "$port"
}

# The cluster's directory, owned by the postgres user: PostgreSQL refuses to run as root, and the postgres user must
# reach its directory (its parents are left as they are: they must already be traversable, as /tmp is).
prepare_dir() {
  mkdir -p "$dir"
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
}

# Starts the cluster in $dir/data on $port (extra server settings as arguments) and waits until it answers.
run_cluster() {
  local bin=$1
  shift
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=${SP_PG_MAX_CONNECTIONS:-300} $*" start >/dev/null ||
    { tail -20 "$dir/server.log" >&2; exit 1; }
  ready "$bin" || { echo "PostgreSQL did not become ready on 127.0.0.1:$port; see $dir/server.log" >&2; exit 1; }
}

start() {
  local bin
  bin=$(bin_dir)
  if ready "$bin"; then
    echo "$url"
    return
  fi

  prepare_dir
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  run_cluster "$bin"
  echo "$url"
}

stop() {
  local bin
  bin=$(bin_dir)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
}

standby() {
  local bin primary
  bin=$(bin_dir)
  primary=${SP_PG_PRIMARY_PORT:?SP_PG_PRIMARY_PORT names the primary to replicate}
  if ready "$bin"; then
    echo "$url"
    return
  fi

  prepare_dir
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written during the copy. initdb's
    # default pg_hba.conf already lets a trusted local user replicate.
    as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" -R -X stream \
      -c fast --no-sync >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  fi
  run_cluster "$bin" -c hot_standby=on
  # Synchronous: from here on the primary acknowledges a commit only once this standby has it.
  "$bin/psql" -q -h 127.0.0.1 -p "$primary" -U postgres -d postgres \
    -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
  local tries=0
  until [ "$("$bin/psql" -tA -h 127.0.0.1 -p "$primary" -U postgres -d postgres \
      -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = "1" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then echo "The standby on port $port did not become synchronous; see $dir/server.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "$url"
}

promote() {
  local bin
  bin=$(bin_dir)
  as_postgres "$bin/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
}

crash() {
  local bin
  bin=$(bin_dir)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  fi
}

free_port() {
  # Bash alone (no python on a minimal machine): the first port from 55432 that nothing listens on.
  local p
  for p in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "No free port in 55432-55532" >&2
  return 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  url) echo "$url" ;;
  free-port) free_port ;;
  standby) standby ;;
  promote) promote ;;
  crash) crash ;;
  *) echo "usage: $0 start|stop|url|free-port|standby|promote|crash" >&2; exit 2 ;;
esac
