#!/usr/bin/env bash
# Makes PostgreSQL and Redis available on this machine for sweep, then creates the
# `sweep` role (password `sweep`, CREATEDB so tests can make their own databases)
# and the `sweep` database. In order, for each service:
#   1. already answering on its port: use it;
#   2. installed but stopped: start it;
#   3. Docker engine available (`docker info` works): docker compose up -d postgres redis;
#   4. running as root with apt-get: install it from Debian's packages and start it.
# Last, it makes sure PostgreSQL's server programs are here for the throwaway
# primary and replica of internal/pgcluster (as root with apt-get, installs them).
# Safe to run again: every step checks first.
set -euo pipefail

PG_HOST=${SWEEP_PG_HOST:-127.0.0.1}
PG_PORT=${SWEEP_PG_PORT:-5432}
REDIS_HOST=${SWEEP_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${SWEEP_REDIS_PORT:-6379}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.data"

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

redis_up() {
  local reply
  reply=$( (exec 4<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&4 && timeout 3 head -c 5 <&4) 2>/dev/null) || return 1
  [[ $reply == +PONG ]]
}

wait_for() { # name, check command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@"; then return 0; fi
    sleep 1
  done
  die "$name did not come up within 60 seconds"
}

have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ $(id -u) == 0 ]]; }
docker_ok() { have docker && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }
systemd_ok() { [[ -d /run/systemd/system ]] && have systemctl; }

USED_DOCKER=0
compose_up() {
  say "starting $* with docker compose"
  docker compose -f "$ROOT/docker-compose.yml" up -d "$@"
  USED_DOCKER=1
}

apt_install() {
  say "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  if have pg_lsclusters; then
    local ver name
    read -r ver name _ < <(pg_lsclusters --no-header | head -n 1)
    [[ -n ${ver:-} ]] || die "PostgreSQL is installed but has no cluster; create one with: pg_createcluster --start 15 main"
    say "starting PostgreSQL cluster $ver/$name"
    if systemd_ok; then
      systemctl start "postgresql@$ver-$name"
    elif is_root || [[ $(id -un) == postgres ]]; then
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
    else
      die "PostgreSQL $ver/$name is stopped; start it with: sudo pg_ctlcluster $ver $name start"
    fi
    return 0
  fi
  return 1
}

ensure_postgres() {
  if port_open "$PG_HOST" "$PG_PORT"; then
    say "PostgreSQL is up on $PG_HOST:$PG_PORT"
    return
  fi
  if start_postgres; then
    :
  elif docker_ok; then
    compose_up postgres
  elif is_root && have apt-get; then
    apt_install postgresql
    start_postgres || die "PostgreSQL was installed but could not be started"
  else
    die "PostgreSQL is not running on $PG_HOST:$PG_PORT and cannot be installed here: install PostgreSQL 15 or Docker, or run this script as root"
  fi
  wait_for PostgreSQL port_open "$PG_HOST" "$PG_PORT"
  say "PostgreSQL is up on $PG_HOST:$PG_PORT"
}

start_redis() {
  have redis-server || return 1
  say "starting redis-server (append-only file, noeviction) with its data in .data/redis"
  mkdir -p "$STATE/redis"
  redis-server "$ROOT/deploy/redis.conf" --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --dir "$STATE/redis" --logfile "$STATE/redis/redis.log" --protected-mode no
}

ensure_redis() {
  if redis_up; then
    say "Redis is up on $REDIS_HOST:$REDIS_PORT"
    return
  fi
  if start_redis; then
    :
  elif docker_ok; then
    compose_up redis
  elif is_root && have apt-get; then
    apt_install redis-server
    start_redis || die "Redis was installed but could not be started"
  else
    die "Redis is not running on $REDIS_HOST:$REDIS_PORT and cannot be installed here: install Redis 7 or Docker, or run this script as root"
  fi
  wait_for Redis redis_up
  say "Redis is up on $REDIS_HOST:$REDIS_PORT"
}

# psql as a superuser, whichever way this machine allows.
superuser_psql() {
  if have psql && PGCONNECT_TIMEOUT=5 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  elif have psql && is_root && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  elif have psql && have sudo && sudo -n -u postgres true 2>/dev/null; then
    sudo -n -u postgres psql -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  elif docker_ok && docker compose -f "$ROOT/docker-compose.yml" ps --status running postgres 2>/dev/null | grep -q postgres; then
    docker compose -f "$ROOT/docker-compose.yml" exec -T postgres psql -U sweep -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  else
    return 1
  fi
}

ensure_database() {
  if have psql && PGPASSWORD=sweep PGCONNECT_TIMEOUT=5 psql -w -h "$PG_HOST" -p "$PG_PORT" -U sweep -d sweep -Atqc \
      "SELECT 1 FROM pg_roles WHERE rolname = 'sweep' AND rolcreatedb" 2>/dev/null | grep -q 1; then
    say "database sweep and role sweep are ready"
    return
  fi
  say "creating role sweep and database sweep"
  superuser_psql <<'SQL' || die "could not create the sweep role and database: connect as a PostgreSQL superuser and run: CREATE ROLE sweep LOGIN CREATEDB PASSWORD 'sweep'; CREATE DATABASE sweep OWNER sweep;"
SELECT 'CREATE ROLE sweep LOGIN CREATEDB PASSWORD ''sweep'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sweep') \gexec
ALTER ROLE sweep LOGIN CREATEDB PASSWORD 'sweep';
SELECT 'CREATE DATABASE sweep OWNER sweep'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'sweep') \gexec
SQL
  say "database sweep and role sweep are ready"
}

# PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup, postgres), which
# internal/pgcluster runs to start a throwaway primary and replica for the
# replica-lag tests and `sweep-dev bench`; looked for where pgcluster.BinDir looks.
has_server_programs() { # dir
  local p
  for p in initdb pg_ctl pg_basebackup postgres; do [[ -x $1/$p ]] || return 1; done
}
server_programs_found() {
  local dir
  if have pg_config && has_server_programs "$(pg_config --bindir)"; then return 0; fi
  for dir in /usr/lib/postgresql/*/bin; do has_server_programs "$dir" && return 0; done
  have initdb && has_server_programs "$(dirname "$(readlink -f "$(command -v initdb)")")"
}

# With PostgreSQL in Docker, this machine may lack them. Debian's packages
# would create and start a 'main' cluster on 5432, where sweep's PostgreSQL
# already is: postgresql-common is told not to, as the postgres image does.
ensure_server_programs() {
  server_programs_found && return 0
  if ! is_root || ! have apt-get; then
    say "PostgreSQL's server programs are missing: the replica-lag tests will be skipped; install them (Debian: apt-get install postgresql)"
    return 0
  fi
  apt_install postgresql-common
  local conf=/etc/postgresql-common/createcluster.conf
  sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$conf"
  grep -q '^create_main_cluster = false' "$conf" || echo 'create_main_cluster = false' >>"$conf"
  say "installing PostgreSQL's server programs without a cluster of their own (create_main_cluster = false in $conf)"
  apt_install postgresql
}

ensure_postgres
ensure_redis
ensure_database
ensure_server_programs
