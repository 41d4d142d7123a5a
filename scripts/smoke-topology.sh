#!/usr/bin/env bash
# Smoke test of the production topology on one machine: PostgreSQL, gunicorn with 2 workers
# behind a (simulated) TLS proxy, and a standalone worker on Redis storage. A person is
# created through the API and a background task is processed by the standalone worker.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${SMOKE_PORT:-8765}
DB=registru_smoke
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null
redis-cli -h 127.0.0.1 -n 13 flushdb >/dev/null

export REGISTRU_ENV=production
export REGISTRU_SECRET_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
export REGISTRU_ALLOWED_HOSTS=127.0.0.1,localhost
export REGISTRU_PUBLIC_URL=https://crm.example.ro  # the links in mail; the smoke test sends none
export REGISTRU_DATA_DIR="$work"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REGISTRU_QUEUE_URL="redis://127.0.0.1:6379/13"

$BIN/registru vault init >/dev/null
$BIN/registru audit keygen >/dev/null
$BIN/registru check --deploy --fail-level WARNING
$BIN/registru migrate --noinput -v0
$BIN/registru collectstatic --noinput -v0
echo "smoke-test-password-1" | $BIN/registru user create smoke --role agent --password-stdin >/dev/null
token=$($BIN/registru token create smoke --name smoke)

$BIN/gunicorn registru.config.wsgi --workers 2 --bind "127.0.0.1:$PORT" --log-level warning &
pids+=($!)
$BIN/registru worker --workers 1 > "$work/worker.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS -o /dev/null -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.2
done

# The proxy terminates TLS and says so; gunicorn sees plain HTTP.
api() { curl -fsS -H "X-Forwarded-Proto: https" -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$@"; }
created=$(api -X POST "http://127.0.0.1:$PORT/api/v1/people" \
  -d '{"given_name": "Ștefan", "family_name": "Smoke", "phones": ["0722 000 999"]}')
id=$(echo "$created" | $BIN/python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Read it back several times: both gunicorn workers must see it.
for _ in 1 2 3 4; do
  api "http://127.0.0.1:$PORT/api/v1/people/$id" | grep -q '"+40722000999"'
done
echo "person $id created and read back through gunicorn"

$BIN/registru tasks ping --wait 30
grep -q "Redis storage" "$work/worker.log"
echo "background task processed by the standalone worker on Redis"

# Plain HTTP without the proxy's header is redirected to HTTPS, never served.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/people/")
[ "$code" = "301" ] || { echo "expected a redirect to HTTPS, got $code"; exit 1; }
echo "topology smoke test passed"
