#!/usr/bin/env bash
# Installs what is missing on this machine (Debian/Ubuntu via apt-get) and the Python environment.
# Safe to run again: every step checks before it acts.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

need=()
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || need+=(postgresql)
[ -n "$PG_BIN" ] && [ -f "$(dirname "$PG_BIN")/lib/btree_gist.so" ] || need+=(postgresql-contrib)
command -v redis-server >/dev/null || need+=(redis-server)
[ "${CLINICFLOW_SKIP_BROWSER:-0}" = 1 ] || command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
# WeasyPrint (invoice PDFs) draws text with Pango.
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "Missing: ${need[*]}. Install them with your system's package manager (see README)." >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "Installing ${need[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Python environment is rebuilt only when pyproject.toml changed since the last install.
stamp="$VENV/.installed-from"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi

# The browser libraries (package.json) are installed again only when package-lock.json changed
# since the last install; settings' STATICFILES_DIRS serve their dist folders.
stamp="node_modules/.installed-from"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
