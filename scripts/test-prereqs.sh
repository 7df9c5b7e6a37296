#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up: PostgreSQL (tests create their own databases) and a
# Docker engine with the locally built test images. Safe to run again and again; fast when all is there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# --- PostgreSQL -----------------------------------------------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "test-prereqs: PostgreSQL is not answering on 127.0.0.1:5432, starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "test-prereqs: PostgreSQL did not come up" >&2; exit 1; }
fi

# --- Docker ---------------------------------------------------------------------------------------------------
if [ -x "$here/ensure-docker.sh" ]; then
  "$here/ensure-docker.sh"
fi
echo "test-prereqs: ready"
