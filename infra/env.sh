# Shared settings of the infra scripts: where the local services live and how to reach them.
# Sourced, never run. Every value can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CLINICFLOW_DATA="${CLINICFLOW_DATA:-$ROOT/.data}"
export PGPORT="${PGPORT:-54329}"
export PGHOST="${PGHOST:-127.0.0.1}"
export PGUSER="${PGUSER:-clinicflow}"
export PGPASSWORD="${PGPASSWORD:-clinicflow}"
export PGDATABASE="${PGDATABASE:-clinicflow}"
# Two database roles: PGUSER owns every table and runs migrations and chain provisioning; the app
# serves as PGAPPUSER, which reads and writes data but owns nothing (README, "Database roles").
export PGAPPUSER="${PGAPPUSER:-clinicflow_app}"
export PGAPPPASSWORD="${PGAPPPASSWORD:-clinicflow_app}"
export REDIS_PORT="${REDIS_PORT:-63799}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export VENV="${VENV:-$ROOT/.venv}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
export PG_BIN
