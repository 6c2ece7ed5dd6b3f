#!/bin/bash
# Measures issue 11's scenarios with the real binary against `rolesweep
# sandbox` on loopback (docs/HARDENING.md has the results).
# Usage: scripts/hardening-measure.sh SCENARIO   (from the repository root)
# SCENARIO: unreachable missingdir adir readonlyfs symlink sighup pipe
#           twoapply tworesume plancheck token500 tokenslow lost
set -u
ROOT=$(pwd)
WORK=${WORK:-$(mktemp -d)}
go build -o "$WORK/rolesweep" . || exit 1
cd "$WORK"
python3 -c '
lines=["user_id,role_id,reason"]+["auth0|%024x,rol_NHBmr6NkzbRcHob1,m" % i for i in range(750)]
open("in750.csv","w").write("\n".join(lines)+"\n")'
B=./rolesweep
SBPID=
sb() { # sb FLAGS... : start a sandbox on a free port, set D, T, CID, CS
  rm -f sb.out
  $B sandbox --listen 127.0.0.1:0 --from-input in750.csv "$@" > sb.out 2> sb.err &
  SBPID=$!
  for i in $(seq 100); do grep -q AUTH0_API_TOKEN sb.out 2>/dev/null && break; sleep 0.05; done
  D=$(grep AUTH0_DOMAIN= sb.out | cut -d= -f2 | tr -d "'")
  T=$(grep AUTH0_API_TOKEN= sb.out | cut -d= -f2 | tr -d "'")
  CID=$(grep -o 'AUTH0_CLIENT_ID=[^ ]*' sb.out | cut -d= -f2 | tr -d "'")
  CS=$(grep -o 'AUTH0_CLIENT_SECRET=[^ ]*' sb.out | cut -d= -f2 | tr -d "'")
}
stop() { kill $SBPID 2>/dev/null; wait $SBPID 2>/dev/null; }
stats() { curl -s $D/__sandbox/stats | python3 -c '
import json,sys; s=json.load(sys.stdin); r=s["Requests"] if "Requests" in s else s.get("requests",{})
t=s.get("Total",s.get("total")); rl=s.get("RateLimited",s.get("rate_limited")); tok=s.get("TokensIssued",s.get("tokens_issued"))
f=s.get("Faults",s.get("faults",{}))
print("requests=%s 429s=%s tokens_issued=%s token_failed=%s" % (t, rl, tok, f.get("TokenFailed", f.get("token_failed"))))'; }
summ() { python3 -c '
import json,sys
try: r=json.load(open(sys.argv[1]))
except Exception as e: print("report: none (%s)" % type(e).__name__); sys.exit()
s=r["summary"]; print("report: outcome=%s failed=%d skipped=%d removed=%d" % (r["outcome"], s["failed"], s["skipped"], s["removed"]))' "$1"; }
timed() { local s=$(date +%s.%N); "$@"; RC=$?; E=$(python3 -c "print('%.2fs' % ($(date +%s.%N)-$s))"); }
rm -rf w; mkdir w
case "$1" in
unreachable)
  timed $B apply in750.csv --yes --quiet --domain http://127.0.0.1:1 --api-token x --report w/r.json > w/out 2> w/err
  echo "exit=$RC time=$E"; summ w/r.json; ls w; head -c 300 w/err; echo ;;
token500)
  sb --bucket 0 --token-status 500
  timed $B apply in750.csv --yes --quiet --domain $D --client-id $CID --client-secret $CS --report w/r.json > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; summ w/r.json; ls w; head -c 300 w/err; echo; stop ;;
tokenslow)
  sb --bucket 0 --token-latency 45s
  timed $B apply in750.csv --yes --quiet --domain $D --client-id $CID --client-secret $CS --report w/r.json > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; summ w/r.json; stop ;;
missingdir|adir|readonlyfs)
  sb --bucket 0
  case $1 in missingdir) R=w/nope/r.json;; adir) mkdir w/d.json; R=w/d.json;; readonlyfs) R=/proc/self/r.json;; esac
  timed $B apply in750.csv --yes --quiet --domain $D --api-token $T --report $R --journal w/j.jsonl > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; ls w; echo "stdout: $(cat w/out)"; head -c 300 w/err; echo; stop ;;
symlink)
  sb --bucket 0
  echo -n > w/target; ln -s target w/j.jsonl
  timed $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --journal w/j.jsonl > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; echo "target bytes: $(wc -c < w/target)"; head -c 300 w/err; echo; stop ;;
protected)
  sb --bucket 0
  timed $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --protect-user 'auth0|0000000000000000000002ee' > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; ls w; stop ;;
twoapply)
  sb --bucket 0 --latency 20ms
  s=$(date +%s.%N)
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --journal w/j.jsonl --concurrency 4 > w/out1 2> w/err1 & P1=$!
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --journal w/j.jsonl --concurrency 4 > w/out2 2> w/err2 & P2=$!
  wait $P1; R1=$?; wait $P2; R2=$?
  echo "exits=$R1,$R2 time=$(python3 -c "print('%.2fs' % ($(date +%s.%N)-$s))")"; stats; summ w/r.json; cat w/err1 w/err2 | head -c 300; echo; stop ;;
tworesume)
  sb --bucket 0 --latency 20ms --fail-rate 0.2
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --journal w/j.jsonl --max-retries 0 > /dev/null 2>&1
  echo "run 1 exit=$? $(stats)"
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r2.json --resume w/j.jsonl --max-retries 0 > w/out1 2> w/err1 & P1=$!
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r2.json --resume w/j.jsonl --max-retries 0 > w/out2 2> w/err2 & P2=$!
  wait $P1; R1=$?; wait $P2; R2=$?
  echo "resume exits=$R1,$R2"; stats; cat w/err1 w/err2 | grep -v "^resuming" | head -c 300; echo; stop ;;
sighup)
  sb --bucket 0 --latency 50ms
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --concurrency 2 > w/out 2> w/err & P=$!
  sleep 1.5; kill -HUP $P; wait $P; echo "exit=$?"; summ w/r.json; ls w; stop ;;
pipe)
  sb --bucket 0 --fail-rate 0.05
  timed bash -c "$B apply in750.csv --yes --domain $D --api-token $T --report w/r.json --max-retries 0 2>&1 | head -c1 >/dev/null; exit \${PIPESTATUS[0]}"
  echo "exit=$RC time=$E"; stats; summ w/r.json; stop ;;
plancheck)
  sb --bucket 0 --read-fault invalid-json
  timed $B plan in750.csv --check --out w/plan.json --format json --domain $D --api-token $T > w/out 2> w/err
  echo "exit=$RC time=$E"; stats; ls w; tail -c 300 w/err; echo; stop ;;
lost)
  sb --bucket 0 --latency 20ms
  $B apply in750.csv --yes --quiet --domain $D --api-token $T --report w/r.json --concurrency 4 > w/out 2> w/err & P=$!
  for i in $(seq 400); do n=$(curl -s $D/__sandbox/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null); [ "${n:-0}" -ge 200 ] && break; sleep 0.02; done
  kill -9 $SBPID 2>/dev/null; wait $SBPID 2>/dev/null; k=$(date +%s.%N)
  wait $P; RC=$?; echo "exit=$RC after the tenant went: $(python3 -c "print('%.2fs' % ($(date +%s.%N)-$k))")"; summ w/r.json; python3 -c 'import json; print("requests (client count)=%d" % json.load(open("w/r.json"))["summary"]["requests"])'; tail -c 250 w/err; echo ;;
esac
