# PostgreSQL for Trustwatch: the one at DATABASE_URL when set, otherwise a private cluster of our
# own (PostgreSQL's initdb and pg_ctl) under .data/ in the checkout. Sourced after common.sh.

PG_PRIVATE_DATA=""
PG_PRIVATE_BIN=""

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root).
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Sets DATABASE_URL to database $1 (created if missing), starting a private cluster if needed.
ensure_database() {
  local db="$1"
  if [ -n "${DATABASE_URL:-}" ]; then
    say "using the PostgreSQL at DATABASE_URL"
    return 0
  fi
  PG_PRIVATE_BIN="$(pg_bin_dir)"
  if [ -z "$PG_PRIVATE_BIN" ]; then
    apt_install postgresql
    PG_PRIVATE_BIN="$(pg_bin_dir)"
    [ -n "$PG_PRIVATE_BIN" ] || die "PostgreSQL is installed but its binaries were not found"
  fi
  PG_PRIVATE_DATA="$ROOT/.data/postgres"
  mkdir -p "$ROOT/.data"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$ROOT/.data"; then
    # The checkout is not reachable for the postgres user; keep the cluster beside it instead.
    PG_PRIVATE_DATA="/var/tmp/trustwatch-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)/postgres"
  fi
  local port
  if [ ! -f "$PG_PRIVATE_DATA/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $PG_PRIVATE_DATA"
    mkdir -p "$PG_PRIVATE_DATA"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$(dirname "$PG_PRIVATE_DATA")" "$PG_PRIVATE_DATA"
    chmod 700 "$PG_PRIVATE_DATA"
    as_pg_owner "$PG_PRIVATE_BIN/initdb" -D "$PG_PRIVATE_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if as_pg_owner "$PG_PRIVATE_BIN/pg_ctl" -D "$PG_PRIVATE_DATA" status >/dev/null 2>&1; then
    # Already running (a run in another terminal): its port is on line 4 of postmaster.pid.
    port="$(sed -n 4p "$PG_PRIVATE_DATA/postmaster.pid")"
  else
    # One port per data folder, so two checkouts on one machine do not collide; if something
    # else holds it (a cluster orphaned by a killed run, say), take the next free one.
    port=$((55000 + $(printf '%s' "$PG_PRIVATE_DATA" | cksum | cut -d' ' -f1) % 900))
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    say "starting the private PostgreSQL on 127.0.0.1:$port"
    as_pg_owner "$PG_PRIVATE_BIN/pg_ctl" -D "$PG_PRIVATE_DATA" -l "$PG_PRIVATE_DATA/server.log" -w \
      -o "-p $port -k $PG_PRIVATE_DATA -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
      die "PostgreSQL did not start; see $PG_PRIVATE_DATA/server.log"
  fi
  local psql=("$PG_PRIVATE_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -At)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db"
}

# Stops the private cluster, if this script started one. Data stays on disk.
stop_private_database() {
  if [ -n "$PG_PRIVATE_DATA" ] && [ -f "$PG_PRIVATE_DATA/PG_VERSION" ]; then
    as_pg_owner "$PG_PRIVATE_BIN/pg_ctl" -D "$PG_PRIVATE_DATA" -m fast stop >/dev/null 2>&1 || true
  fi
}

# Drops and recreates database $2 on the server of URL $1, returning the new database's URL.
fresh_database_url() {
  local base="$1" db="$2"
  local admin_url="${base%/*}/postgres"
  PGOPTIONS="-c client_min_messages=warning" psql "$admin_url" -qAt -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null ||
    die "could not create database $db"
  printf '%s/%s' "${base%/*}" "$db"
}
