#!/usr/bin/env bash
# Starts the local PostgreSQL cluster (installed by setup.sh), gives the browser tests a
# fresh, empty database (postgres://payfriend:payfriend@127.0.0.1/payfriend_e2e), lets the
# payfriend role create the Rust tests' databases, and drops those a previous run left.
set -euo pipefail

fail() { printf '\033[31mpostgres: %s\033[0m\n' "$*" >&2; exit 1; }

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
[ -n "$version" ] || fail "PostgreSQL is not installed (run scripts/setup.sh)"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  as_root pg_createcluster "$version" main >/dev/null || fail "cannot create a cluster"
fi
cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 " " $2 }')
as_root pg_ctlcluster $cluster start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 || fail "the server does not answer on 127.0.0.1"

as_postgres psql -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null || fail "cannot prepare the test database"
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'payfriend') THEN
    CREATE ROLE payfriend LOGIN PASSWORD 'payfriend';
  END IF;
END $$;
ALTER ROLE payfriend CREATEDB;
DROP DATABASE IF EXISTS payfriend_e2e WITH (FORCE);
CREATE DATABASE payfriend_e2e OWNER payfriend;
SQL
# Databases the Rust tests created (one per test app) are dropped at every start.
for stale in $(as_postgres psql -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'pf\_test\_%'"); do
  as_postgres psql -q -c "DROP DATABASE IF EXISTS $stale WITH (FORCE)" >/dev/null
done
echo "postgres: payfriend_e2e is ready (PostgreSQL $version)"
