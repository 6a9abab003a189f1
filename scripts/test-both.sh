#!/usr/bin/env bash
# `make test`'s two runs of the whole suite, at once: on PostgreSQL in the background (its output kept and
# printed after), on SQLite in the foreground. Each run has its own Redis database, so neither empties the
# other's; everything else a test starts (servers, workers, folders) is its own already. Most of a run is
# spent waiting on processes, servers and sockets, so two at once take little longer than one.
# Usage: scripts/test-both.sh PYTEST POSTGRES_URL [pytest arguments...]
set -uo pipefail

pytest=$1
postgres_url=$2
shift 2
log=$(mktemp "${TMPDIR:-/tmp}/eventhub-postgres-tests.XXXXXX")
trap 'rm -f "$log"; [ -n "${postgres_pid:-}" ] && kill "$postgres_pid" 2>/dev/null' EXIT

TEST_DATABASE_URL=$postgres_url TEST_REDIS_URL=${TEST_POSTGRES_REDIS_URL:-redis://127.0.0.1:6379/13} \
  "$pytest" -p no:cacheprovider "$@" >"$log" 2>&1 &
postgres_pid=$!

echo "== tests on SQLite =="
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} "$pytest" -p no:cacheprovider "$@"
sqlite_status=$?

wait "$postgres_pid"
postgres_status=$?
postgres_pid=
echo "== tests on PostgreSQL =="
cat "$log"

[ "$sqlite_status" -eq 0 ] && [ "$postgres_status" -eq 0 ]
