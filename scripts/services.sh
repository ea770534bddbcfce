#!/usr/bin/env bash
# Start the PostgreSQL and Redis servers the production-path tests use, if they are installed
# here and not yet listening. Best effort: tests skip (or, with CI=true, fail) without them.
set -u

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! listening 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  else
    echo "PostgreSQL is not installed here; its tests will skip (outside CI)."
  fi
fi

if ! listening 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis…"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  else
    echo "Redis is not installed here; its tests will skip (outside CI)."
  fi
fi

for _ in $(seq 1 50); do
  listening 5432 && listening 6379 && exit 0
  sleep 0.2
done
exit 0
