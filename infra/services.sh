#!/usr/bin/env bash
# Starts and stops PostgreSQL and Redis for this checkout, under .data/, on their own ports.
#   infra/services.sh up | down | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
cmd="${1:-up}"
pgdata="$CLINICFLOW_DATA/pg"
mkdir -p "$CLINICFLOW_DATA"

# PostgreSQL refuses to run as root. As root we run it as the 'postgres' system user, which then
# needs to traverse into the project folder (mktemp -d makes 0700 folders).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
grant_traverse() {
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  local d="$CLINICFLOW_DATA"
  while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  mkdir -p "$pgdata"; chown -R postgres "$pgdata"
}

pg_up() {
  grant_traverse
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    pwfile="$(mktemp)"; echo "$PGPASSWORD" > "$pwfile"; chmod 644 "$pwfile"
    as_pg "$PG_BIN/initdb" -D "$pgdata" -U "$PGUSER" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >> "$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$pgdata'
max_connections = 200
shared_buffers = 256MB
fsync = ${CLINICFLOW_PG_FSYNC:-on}
CONF
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    if "$PG_BIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT"; then
      echo "Port $PGPORT already has a PostgreSQL that is not this checkout's; stop it or set PGPORT." >&2
      exit 1
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start >/dev/null
  fi
  psql_admin() { "$PG_BIN/psql" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAq "$@"; }
  if [ "$(psql_admin -c "select 1 from pg_database where datname='$PGDATABASE'")" != 1 ]; then
    psql_admin -c "create database \"$PGDATABASE\"" >/dev/null
  fi
  # The runtime role the app connects as: it can log in and nothing more (no superuser, no
  # databases, no roles, not a member of the owner). Its privileges on the tables come from the
  # migrations (tenants/migrations/0005_runtime_role.py). Created or brought back in line each time.
  if [ "$PGAPPUSER" = "$PGUSER" ]; then
    echo "PGAPPUSER must name a role other than PGUSER (the owner)." >&2
    exit 1
  fi
  local verb=alter
  [ "$(psql_admin -c "select 1 from pg_roles where rolname='$PGAPPUSER'")" = 1 ] || verb=create
  psql_admin -v ON_ERROR_STOP=1 -v verb="$verb" -v role="$PGAPPUSER" -v pw="$PGAPPPASSWORD" >/dev/null <<'SQL'
:verb role :"role" login nosuperuser nocreatedb nocreaterole noinherit nobypassrls password :'pw';
SQL
  echo "PostgreSQL on $PGHOST:$PGPORT (data in $pgdata)"
}

redis_up() {
  mkdir -p "$CLINICFLOW_DATA/redis"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    rm -f "$CLINICFLOW_DATA/redis/redis.pid"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$CLINICFLOW_DATA/redis" \
      --daemonize yes --pidfile "$CLINICFLOW_DATA/redis/redis.pid" \
      --logfile "$CLINICFLOW_DATA/redis/redis.log" --save "" --appendonly no
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "Redis on 127.0.0.1:$REDIS_PORT"
}

case "$cmd" in
  up) pg_up; redis_up ;;
  down)
    [ -f "$pgdata/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    echo "stopped" ;;
  status)
    as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status || true
    redis-cli -p "$REDIS_PORT" ping || true ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
