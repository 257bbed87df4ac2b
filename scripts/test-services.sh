#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the test suite (`make test`).
#   up     start them (installing the Debian packages first when they are missing and we are root) and
#          print the environment to export: DATABASE_URL, REDIS_URL. Every step is checked: on failure it
#          prints the reason on stderr, prints nothing on stdout and exits non-zero.
#   check  verify that $DATABASE_URL (PostgreSQL) and $REDIS_URL (Redis) answer: the guard `make test` runs
#          before pytest, so the suite never falls back to SQLite or runs without Redis.
#   down   stop exactly the servers `up` started from this checkout.
#   clean  down, then delete their data.
# Where they run. Not root: both run as you, data under .tmp/. Root: Redis runs as root under .tmp/;
# PostgreSQL refuses to run as root, so it runs as the `postgres` system user, with its data under
# .tmp/pgdata when that user can enter .tmp/, else (a clone under /root or inside a mode-700 directory)
# under /var/tmp/backoffice-test-<hash of the checkout path>/pgdata.
# Settings: TEST_PG_PORT (55432), TEST_REDIS_PORT (56379), TEST_PG_BIN (PostgreSQL's bin directory; default
# the newest /usr/lib/postgresql/*/bin), WITH_BROWSER=0 (do not install chromium and npm).
# A port already taken (by another checkout's server, or anything else) is an error, never silently shared.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
TMP="$ROOT/.tmp"
PG_PORT=${TEST_PG_PORT:-55432}
REDIS_PORT=${TEST_REDIS_PORT:-56379}
REDIS_DATABASES=64 # parallel test processes use databases base+1+n (tests/settings.py)
DB_NAME=backoffice
IS_ROOT=0
if [ "$(id -u)" = 0 ]; then IS_ROOT=1; fi
# Where PostgreSQL's data goes as root when the postgres user cannot enter the checkout.
EXTERNAL="/var/tmp/backoffice-test-$(printf %s "$ROOT" | sha256sum | cut -c1-16)"

die() {
  printf 'test-services: %s\n' "$*" >&2
  exit 1
}
note() { printf 'test-services: %s\n' "$*" >&2; }

find_pg_bin() {
  if [ -n "${TEST_PG_BIN:-}" ]; then
    printf %s "$TEST_PG_BIN"
  else
    # shellcheck disable=SC2012
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
  fi
}
PG_BIN=$(find_pg_bin)

install_missing() {
  local need_pkgs=()
  [ -n "$PG_BIN" ] || need_pkgs+=(postgresql)
  command -v redis-server >/dev/null || need_pkgs+=(redis-server)
  command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
  if [ "${WITH_BROWSER:-1}" = 1 ] && ! command -v chromium >/dev/null; then need_pkgs+=(chromium); fi
  # npm installs the JavaScript the browser tests inject (axe-core, package-lock.json) with `npm ci`.
  if [ "${WITH_BROWSER:-1}" = 1 ] && ! command -v npm >/dev/null; then need_pkgs+=(nodejs npm); fi
  [ ${#need_pkgs[@]} -gt 0 ] || return 0
  if [ $IS_ROOT = 1 ]; then
    note "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
    PG_BIN=$(find_pg_bin)
    [ -n "$PG_BIN" ] || die "no PostgreSQL under /usr/lib/postgresql/*/bin after installing it"
  else
    die "missing ${need_pkgs[*]}: install them (sudo apt-get install -y ${need_pkgs[*]})"
  fi
}

as_pg() {
  # initdb/postgres refuse to run as root: run them as the postgres system user then, from / (all the
  # paths are absolute; the checkout may be a directory that user cannot enter).
  if [ $IS_ROOT = 1 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_data_dir() {
  # This checkout's PostgreSQL data directory (see the header).
  if [ $IS_ROOT = 0 ]; then
    printf %s "$TMP/pgdata"
  elif [ -d "$TMP" ] && runuser -u postgres -- test -x "$TMP" 2>/dev/null; then
    printf %s "$TMP/pgdata"
  else
    printf %s "$EXTERNAL/pgdata"
  fi
}

psql_bin() {
  if [ -x "$PG_BIN/psql" ]; then printf %s "$PG_BIN/psql"; else command -v psql || printf psql; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The PostgreSQL server of data directory $1 is running (its postmaster process is alive).
pg_running() {
  [ -f "$1/postmaster.pid" ] || return 1
  local pid
  pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = postgres ]
}
pg_port_of() { sed -n 4p "$1/postmaster.pid" 2>/dev/null; }

redis_pid() {
  # This checkout's Redis: the pid in .tmp/redis.pid when that process is a live redis-server.
  local pid
  [ -f "$TMP/redis.pid" ] || return 1
  pid=$(cat "$TMP/redis.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = redis-server ] && printf %s "$pid"
}

preflight_pg() {
  local pgdata=$1 running_port other
  if pg_running "$pgdata"; then
    running_port=$(pg_port_of "$pgdata")
    [ "$running_port" = "$PG_PORT" ] || die "this checkout's PostgreSQL (data directory $pgdata) already runs on port $running_port, not $PG_PORT: use TEST_PG_PORT=$running_port, or stop it first ($0 down)"
    return 0
  fi
  if port_open "$PG_PORT"; then
    other=$(PGCONNECT_TIMEOUT=3 timeout 5 "$(psql_bin)" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -XtAc 'SHOW data_directory' 2>/dev/null || true)
    if [ -n "$other" ]; then
      die "port $PG_PORT is taken by another PostgreSQL server (data directory $other; this checkout's is $pgdata). Stop that server, or choose a free port: TEST_PG_PORT=<port> make test"
    fi
    die "port $PG_PORT is taken by another program (not this checkout's PostgreSQL). Choose a free port: TEST_PG_PORT=<port> make test"
  fi
}

preflight_redis() {
  local pid dir
  if pid=$(redis_pid); then
    if [ "$(cat "$TMP/redis.port" 2>/dev/null)" != "$REDIS_PORT" ] && ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
      die "this checkout's Redis (pid $pid) already runs on port $(cat "$TMP/redis.port" 2>/dev/null || echo '?'), not $REDIS_PORT: use TEST_REDIS_PORT=$(cat "$TMP/redis.port" 2>/dev/null || echo '<port>'), or stop it first ($0 down)"
    fi
  fi
  port_open "$REDIS_PORT" || return 0
  dir=$(timeout 5 redis-cli -p "$REDIS_PORT" config get dir 2>/dev/null | sed -n 2p || true)
  if [ -z "$dir" ]; then
    die "port $REDIS_PORT is taken by another program (not this checkout's Redis). Choose a free port: TEST_REDIS_PORT=<port> make test"
  fi
  if [ "$dir" != "$TMP" ]; then
    die "port $REDIS_PORT is taken by another Redis server (working directory $dir; this checkout's is $TMP). Stop it, or choose a free port: TEST_REDIS_PORT=<port> make test"
  fi
}

start_pg() {
  local pgdata=$1 out
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    if [ "$pgdata" = "$EXTERNAL/pgdata" ]; then
      note "the postgres user cannot enter $TMP: PostgreSQL's data goes to $pgdata"
      if [ -L "$EXTERNAL" ] || { [ -e "$EXTERNAL" ] && [ "$(stat -c %u "$EXTERNAL")" != 0 ]; }; then
        die "$EXTERNAL exists and is not a directory owned by root: remove it"
      fi
      mkdir -p "$EXTERNAL" || die "cannot create $EXTERNAL"
      chmod 755 "$EXTERNAL"
    fi
    rm -rf "$pgdata" # what a failed initdb left behind
    mkdir -p "$pgdata" || die "cannot create $pgdata"
    chmod 700 "$pgdata"
    if [ $IS_ROOT = 1 ]; then chown postgres:postgres "$pgdata" || die "cannot give $pgdata to the postgres user"; fi
    if ! out=$(as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 2>&1); then
      printf '%s\n' "$out" | tail -n 20 >&2
      die "initdb failed (data directory $pgdata, as user $([ $IS_ROOT = 1 ] && echo postgres || id -un)): PostgreSQL cannot start; see above"
    fi
  fi
  if ! pg_running "$pgdata"; then
    if ! out=$(as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start 2>&1); then
      printf '%s\n' "$out" | tail -n 5 >&2
      if [ -f "$pgdata/server.log" ]; then
        printf -- '--- last lines of %s:\n' "$pgdata/server.log" >&2
        tail -n 20 "$pgdata/server.log" >&2
      fi
      die "PostgreSQL did not start on port $PG_PORT (data directory $pgdata); see above"
    fi
  fi
  local psql exists
  psql=$(psql_bin)
  exists=$(PGCONNECT_TIMEOUT=5 "$psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -XtAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" 2>&1) || die "PostgreSQL on port $PG_PORT does not answer: $exists"
  if [ "$exists" != 1 ]; then
    out=$("$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$DB_NAME" 2>&1) || die "createdb $DB_NAME on port $PG_PORT failed: $out"
  fi
}

start_redis() {
  local dbs
  if redis_pid >/dev/null && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    dbs=$(redis-cli -p "$REDIS_PORT" config get databases 2>/dev/null | sed -n 2p || true)
    if [ -n "$dbs" ] && [ "$dbs" -lt "$REDIS_DATABASES" ]; then
      note "warning: this checkout's Redis has $dbs databases, not $REDIS_DATABASES (started by an older script): restart it with $0 down"
    fi
    printf %s "$REDIS_PORT" >"$TMP/redis.port"
    return 0
  fi
  rm -f "$TMP/redis.pid"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --databases "$REDIS_DATABASES" --save "" --appendonly no \
    --daemonize yes --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log" --dir "$TMP" >/dev/null 2>&1 \
    || { tail -n 20 "$TMP/redis.log" >&2 2>/dev/null || true; die "redis-server failed to start on port $REDIS_PORT"; }
  printf %s "$REDIS_PORT" >"$TMP/redis.port"
  for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  if [ -f "$TMP/redis.log" ]; then
    printf -- '--- last lines of %s:\n' "$TMP/redis.log" >&2
    tail -n 20 "$TMP/redis.log" >&2
  fi
  die "Redis did not answer on port $REDIS_PORT; see above"
}

check() {
  local out
  [ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set: the suite would run on SQLite"
  case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) die "DATABASE_URL=$DATABASE_URL is not a PostgreSQL URL: the suite must run on PostgreSQL" ;;
  esac
  out=$(PGCONNECT_TIMEOUT=5 "$(psql_bin)" "$DATABASE_URL" -XtAc 'SELECT 1' 2>&1) && [ "$out" = 1 ] \
    || die "PostgreSQL at $DATABASE_URL does not answer SELECT 1: $out"
  [ -n "${REDIS_URL:-}" ] || die "REDIS_URL is not set: the suite would run without Redis"
  out=$(redis-cli -u "$REDIS_URL" ping 2>&1) && [ "$out" = PONG ] || die "Redis at $REDIS_URL does not answer PING: $out"
}

up() {
  install_missing
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || die "no initdb/pg_ctl in $PG_BIN (TEST_PG_BIN)"
  if [ $IS_ROOT = 1 ]; then id postgres >/dev/null 2>&1 || die "no postgres system user: install the postgresql package"; fi
  mkdir -p "$TMP" || die "cannot create $TMP"
  if [ $IS_ROOT = 1 ]; then chmod 755 "$TMP"; fi
  local pgdata
  pgdata=$(pg_data_dir)
  preflight_pg "$pgdata"
  preflight_redis
  start_pg "$pgdata"
  start_redis
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" check
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

down() {
  local pgdata pid
  # Every place up may have put this checkout's data (.tmp/ or the /var/tmp fallback), nothing else.
  for pgdata in "$TMP/pgdata" "$EXTERNAL/pgdata"; do
    pg_running "$pgdata" || continue
    if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if pg_running "$pgdata"; then kill -QUIT "$(head -n 1 "$pgdata/postmaster.pid")" 2>/dev/null || true; fi
  done
  if pid=$(redis_pid); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$TMP/redis.pid" "$TMP/redis.port"
}

clean() {
  down
  rm -rf "$TMP/pgdata" "$TMP/redis.log"
  if [ -d "$EXTERNAL" ] && [ ! -L "$EXTERNAL" ]; then rm -rf "$EXTERNAL"; fi
}

case "${1:-up}" in
  up) up ;;
  check) check ;;
  down) down ;;
  clean) clean ;;
  *)
    echo "usage: $0 [up|check|down|clean]" >&2
    exit 2
    ;;
esac
