#!/usr/bin/env bash
# The whole job on the bundled example, against the built-in sandbox tenant:
# start the sandbox, validate, plan, apply, show the report and that the roles
# not on the list survived, stop the sandbox.
set -euo pipefail
BIN=${1:-bin/rolesweep}
OUT=demo-out
INPUT=testdata/removals.csv
rm -rf "$OUT" && mkdir -p "$OUT"

"$BIN" sandbox --listen 127.0.0.1:0 --from-input "$INPUT" --roles testdata/roles.csv \
  --bucket 10 --refill 5 --latency 20ms >"$OUT/sandbox.env" 2>"$OUT/sandbox.log" &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true; wait $SANDBOX 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^export AUTH0_API_TOKEN=' "$OUT/sandbox.env" 2>/dev/null && break
  kill -0 $SANDBOX 2>/dev/null || { cat "$OUT/sandbox.log"; exit 1; }
  sleep 0.1
done
. "$OUT/sandbox.env"
echo "== sandbox tenant at $AUTH0_DOMAIN (a Free-plan-like bucket: 10 burst, 5/s)"

echo; echo "== rolesweep validate $INPUT"
"$BIN" validate "$INPUT"

echo; echo "== rolesweep plan $INPUT --check --out $OUT/plan.json   (reads the tenant, changes nothing)"
"$BIN" plan "$INPUT" --check --out "$OUT/plan.json" --quiet | sed -n 1,16p
echo "   …"

echo; echo "== rolesweep apply --plan $OUT/plan.json --yes --verify"
"$BIN" apply --plan "$OUT/plan.json" --yes --verify \
  --report "$OUT/report.json" --report "$OUT/report.md" --report "$OUT/report.csv"

echo; echo "== $OUT/report.md"
cat "$OUT/report.md"

echo; echo "== before the run, every user also held a role that is not on the list; after it, that is all they hold"
if command -v curl >/dev/null; then
  curl -fsS "$AUTH0_DOMAIN/__sandbox/state?format=text"
else
  echo "(curl is not installed; see $AUTH0_DOMAIN/__sandbox/state?format=text)"
fi

echo; echo "== and a second plan --check finds nothing left to remove"
"$BIN" plan "$INPUT" --check --quiet --format text | sed -n 1,4p

echo; echo "Reports: $OUT/report.json $OUT/report.md $OUT/report.csv"
