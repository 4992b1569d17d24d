#!/usr/bin/env bash
# Install (Debian packages), start and provision a PostgreSQL server for the test suite. Safe to re-run.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk '$1=="'"$version"'" && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p 5432" && break
  sleep 1
done
su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='vh'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create user vh password 'vh' superuser;\""
su postgres -c "psql -tAc \"select 1 from pg_database where datname='vh'\"" | grep -q 1 \
  || su postgres -c "psql -qc 'create database vh owner vh;'"
echo "PostgreSQL $version ready on 127.0.0.1:5432 (database vh)."
