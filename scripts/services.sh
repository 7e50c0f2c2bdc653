#!/usr/bin/env bash
# Start the PostgreSQL and Redis servers the tests use, when they are installed but not running.
set -uo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL ..." >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
if ! up 6379; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis ..." >&2
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
fi
for i in $(seq 1 30); do up 5432 && up 6379 && exit 0; sleep 1; done
up 5432 || echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
up 6379 || echo "Redis is not reachable on 127.0.0.1:6379" >&2
exit 1
