#!/usr/bin/env bash
# The whole job on the bundled examples, against the built-in sandbox tenant:
# start the sandbox, validate, plan, apply, show the report and that the roles
# not on the list survived, stop the sandbox. Then the same for an access
# review's export (Microsoft Entra ID's review history), read as it is
# through --preset entra-review: only the Deny decisions are removed.
set -euo pipefail
BIN=${1:-bin/rolesweep}
OUT=demo-out
INPUT=testdata/removals.csv
EXPORT=testdata/campaign/entra-review.csv
rm -rf "$OUT" && mkdir -p "$OUT"

SANDBOXES=()
cleanup() {
  for pid in "${SANDBOXES[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_sandbox NAME FLAGS…: serve a sandbox tenant and export its
# AUTH0_DOMAIN and AUTH0_API_TOKEN into this shell.
start_sandbox() {
  local name=$1; shift
  "$BIN" sandbox --listen 127.0.0.1:0 --roles testdata/roles.csv --bucket 10 --refill 5 --latency 20ms "$@" \
    >"$OUT/$name-sandbox.env" 2>"$OUT/$name-sandbox.log" &
  local pid=$!
  SANDBOXES+=("$pid")
  for _ in $(seq 100); do
    grep -q '^export AUTH0_API_TOKEN=' "$OUT/$name-sandbox.env" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$OUT/$name-sandbox.log"; exit 1; }
    sleep 0.1
  done
  . "$OUT/$name-sandbox.env"
}

show_state() {
  if command -v curl >/dev/null; then
    curl -fsS "$AUTH0_DOMAIN/__sandbox/state?format=text"
  else
    echo "(curl is not installed; see $AUTH0_DOMAIN/__sandbox/state?format=text)"
  fi
}

start_sandbox removals --from-input "$INPUT"
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
show_state

echo; echo "== and a second plan --check finds nothing left to remove"
"$BIN" plan "$INPUT" --check --quiet --format text | sed -n 1,4p

echo; echo "Reports: $OUT/report.json $OUT/report.md $OUT/report.csv"

# An access-certification campaign: the review tool's export, as downloaded.
# The sandbox holds every assignment of the export (Approve, Deny and Not
# reviewed alike); only the Deny ones may go.
echo; echo; echo "== campaign: $EXPORT (Entra ID access review history: Approve, Deny, NotReviewed rows; multi-line justifications)"
start_sandbox campaign --from-input "$EXPORT" --preset entra-review
echo "== a second sandbox tenant at $AUTH0_DOMAIN, holding every assignment the export lists"
"$BIN" help presets | sed -n '/^entra-review/,/^$/p'

echo "== rolesweep validate $EXPORT --preset entra-review"
"$BIN" validate "$EXPORT" --preset entra-review

echo; echo "== rolesweep plan $EXPORT --preset entra-review --check --format markdown > $OUT/campaign-plan.md   (for the reviewers)"
"$BIN" plan "$EXPORT" --preset entra-review --check --format markdown --quiet >"$OUT/campaign-plan.md"
sed -n '/^## Planned removals/,$p' "$OUT/campaign-plan.md"

echo; echo "== rolesweep apply $EXPORT --preset entra-review --yes --check"
"$BIN" apply "$EXPORT" --preset entra-review --yes --check \
  --report "$OUT/campaign-report.json" --report "$OUT/campaign-report.csv"
sha=$( (sha256sum "$EXPORT" 2>/dev/null || shasum -a 256 "$EXPORT") | cut -d' ' -f1)
echo "   the report's input.sha256 is the export's own: $sha"
grep -m1 '"sha256"' "$OUT/campaign-report.json" | sed 's/^ */   report: /'

echo; echo "== only the Deny assignments were removed: the Deny rows are all absent now…"
"$BIN" plan "$EXPORT" --preset entra-review --check --quiet --format text | sed -n 3,4p
echo "== …and every Approve and not-reviewed assignment is still held (planned for removal, were they denied)"
"$BIN" plan "$EXPORT" --preset entra-review --where 'ReviewResult=Approve,NotReviewed,Not reviewed' --check --quiet --format text | sed -n 3,4p

echo; echo "Campaign reports: $OUT/campaign-plan.md $OUT/campaign-report.json $OUT/campaign-report.csv"
