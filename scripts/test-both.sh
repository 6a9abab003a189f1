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
sqlite_redis=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
postgres_redis=${TEST_POSTGRES_REDIS_URL:-redis://127.0.0.1:6379/13}
if [ "$sqlite_redis" = "$postgres_redis" ]; then
  echo "TEST_REDIS_URL and TEST_POSTGRES_REDIS_URL must name different Redis databases: each run empties its own" >&2
  exit 2
fi
log=$(mktemp "${TMPDIR:-/tmp}/eventhub-postgres-tests.XXXXXX")
postgres_pid=

stop_postgres_run() {
  # Interrupted: the background run gets Ctrl-C too (its own process group), so its fixtures stop the servers
  # and processes they started before it exits.
  if [ -n "$postgres_pid" ]; then
    kill -INT -- -"$postgres_pid" 2>/dev/null
    wait "$postgres_pid" 2>/dev/null
  fi
  rm -f "$log"
}
trap stop_postgres_run EXIT
trap 'exit 130' INT TERM  # (then the EXIT trap above)

set -m  # the background run in a process group of its own, where Ctrl-C is not ignored
TEST_DATABASE_URL=$postgres_url TEST_REDIS_URL=$postgres_redis "$pytest" -p no:cacheprovider "$@" >"$log" 2>&1 &
postgres_pid=$!
set +m

echo "== tests on SQLite =="
TEST_REDIS_URL=$sqlite_redis "$pytest" -p no:cacheprovider "$@"
sqlite_status=$?

wait "$postgres_pid"
postgres_status=$?
postgres_pid=
echo "== tests on PostgreSQL =="
cat "$log"

[ "$sqlite_status" -eq 0 ] && [ "$postgres_status" -eq 0 ]
