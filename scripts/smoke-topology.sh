#!/usr/bin/env bash
# Smoke test of the production topology on one machine: PostgreSQL with two roles (the owner
# migrates and grants; the application's role owns nothing), gunicorn with 2 workers behind a
# (simulated) TLS proxy, and a standalone worker on Redis storage, both as the application's
# role. A person is created through the API and erased, the trail sealed, pruned and verified,
# a background task is processed by the standalone worker, and the application's role is shown
# unable to change the trail, delete a data key or disable a trigger.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${SMOKE_PORT:-8765}
DB=${SMOKE_DB:-registru_smoke}
REDIS_DB=${SMOKE_REDIS_DB:-13}
OWNER=${DB}_owner
APP=${DB}_app
work=$(mktemp -d)
pids=()
admin() { psql -q -h 127.0.0.1 -U postgres "$@"; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  admin -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  admin -c "DROP ROLE IF EXISTS $APP" -c "DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

admin -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
admin -c "DROP ROLE IF EXISTS $APP" -c "DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1
admin -c "CREATE ROLE $OWNER LOGIN" -c "CREATE ROLE $APP LOGIN" >/dev/null
admin -c "CREATE DATABASE $DB OWNER $OWNER" >/dev/null
redis-cli -h 127.0.0.1 -n "$REDIS_DB" flushdb >/dev/null

export REGISTRU_ENV=production
export REGISTRU_SECRET_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
export REGISTRU_ALLOWED_HOSTS=127.0.0.1,localhost
export REGISTRU_PUBLIC_URL=https://crm.example.ro  # the links in mail; the smoke test sends none
export REGISTRU_DATA_DIR="$work"
export REGISTRU_QUEUE_URL="redis://127.0.0.1:6379/$REDIS_DB"
AS_OWNER="postgres://$OWNER@127.0.0.1:5432/$DB"
export DATABASE_URL="postgres://$APP@127.0.0.1:5432/$DB"  # everything but migrate and the grants

$BIN/registru vault init >/dev/null
$BIN/registru audit keygen >/dev/null
DATABASE_URL=$AS_OWNER $BIN/registru migrate --noinput -v0
DATABASE_URL=$AS_OWNER $BIN/registru db grant-app-role $APP
$BIN/registru check --deploy --fail-level WARNING
$BIN/registru collectstatic --noinput -v0
echo "smoke-test-password-1" | $BIN/registru user create smoke --role agent --password-stdin >/dev/null
echo "smoke-test-password-2" | $BIN/registru user create smokedpo --role dpo --password-stdin >/dev/null
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

# The application's role cannot open the guards, not even with the settings they check
# (there are events and a data key now, so a row trigger would have something to refuse).
as_app() { psql -q -h 127.0.0.1 -U $APP -d $DB -v ON_ERROR_STOP=1 "$@"; }
must_refuse() {
  local out
  if out=$(as_app -c "BEGIN; SELECT set_config('registru.audit_context', 'on', true);
      SELECT set_config('registru.audit_retention', 'on', true); SELECT set_config('registru.shredding', 'on', true);
      $1; COMMIT;" 2>&1); then
    echo "the application's role was allowed: $1"; exit 1
  fi
  grep -Eq "permission denied|must be owner|registru:" <<<"$out" || { echo "unexpected failure of $1: $out"; exit 1; }
}
must_refuse "UPDATE audit_auditevent SET actor_label = 'altcineva'"
must_refuse "DELETE FROM audit_auditevent"
must_refuse "TRUNCATE audit_auditevent"
must_refuse "DELETE FROM vault_personkey"
must_refuse "UPDATE vault_personkey SET wrapped = NULL"
must_refuse "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL"
must_refuse "DROP TRIGGER registru_guard ON vault_personkey"
echo "the application's role cannot change the trail, delete or clear a data key, or disable a trigger"

# Erased (the key shredded through the owner's function), then the trail sealed and pruned, as
# the application's role; the trail and the data keys still verify.
$BIN/registru shell -v 0 -c "
from registru.accounts.models import User
from registru.people.models import Person
from registru.people.services import erase_person
erase_person(Person.objects.get(pk=$id), actor=User.objects.get(username='smokedpo'), reason='smoke test')"
[ "$(as_app -At -c "SELECT wrapped IS NULL FROM vault_personkey WHERE person_id = $id")" = "t" ]
$BIN/registru audit seal >/dev/null
last=$(as_app -At -c "SELECT max(last_id) FROM audit_auditbatch")
$BIN/registru audit prune --before-event $((last + 1)) --reason "smoke test" >/dev/null
$BIN/registru audit verify --quiet >/dev/null
$BIN/registru vault check >/dev/null
echo "person $id erased, the trail sealed, pruned and verified, the data keys intact"

$BIN/registru tasks ping --wait 30
grep -q "Redis storage" "$work/worker.log"
echo "background task processed by the standalone worker on Redis"

# Plain HTTP without the proxy's header is redirected to HTTPS, never served.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/people/")
[ "$code" = "301" ] || { echo "expected a redirect to HTTPS, got $code"; exit 1; }
echo "topology smoke test passed"
