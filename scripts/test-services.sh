#!/usr/bin/env bash
# Brings up what the test suite needs on this machine, installing from Debian's packages what is missing:
# Redis, PostgreSQL (with a password role and a test database), Chromium for the browser tests,
# libical's Python bindings and Node.js with ical.js for the calendar interoperability tests, Dovecot
# (started by the tests themselves) for reading attendees' answers over IMAP, and wrk for the benchmarks.
set -euo pipefail

PG_ROLE=${PG_ROLE:-eventhub}
PG_PASSWORD=${PG_PASSWORD:-eventhub}
PG_DATABASE=${PG_DATABASE:-eventhub_test}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import gi; gi.require_version('ICalGLib', '3.0')" 2>/dev/null \
  || missing+=(python3 python3-gi gir1.2-ical-3.0)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# Dovecot: the tests run their own IMAP server (the organizer's mailbox) with a config of their own.
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v wrk >/dev/null || missing+=(wrk)  # the load generator of `make bench` (bench/bench_questions.py)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 50); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
pg_isready -h 127.0.0.1 -p 5432 >/dev/null

# A role with a password works whether the server trusts loopback or asks for scram-sha-256.
psql_admin() { as_root runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != "1" ]; then
  psql_admin -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'"
fi
# The test database, and the one `make bench` measures PostgreSQL on.
for database in "$PG_DATABASE" eventhub_bench; do
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE $database OWNER $PG_ROLE"
  fi
done
# ical.js, exactly as package-lock.json pins it.
if [ ! -d tests/interop/js/node_modules/ical.js ]; then
  npm ci --prefix tests/interop/js --no-audit --no-fund --loglevel=error
fi
echo "services ready: Redis, PostgreSQL ($PG_DATABASE), Chromium, libical, ical.js, Dovecot"
