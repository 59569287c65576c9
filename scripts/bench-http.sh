#!/usr/bin/env bash
# HTTP benchmark: `claimdex serve` (release, lexical) on a generated 10k-claim index, against
# POST /api/match with wrk at concurrency 1, 8 and 64, and the same against a trivial axum
# handler (examples/hello_axum.rs) as the HTTP ceiling on this machine. Prints a Markdown table.
#
#   scripts/bench-http.sh                 # 10k claims, 10 s per run
#   CLAIMS=100000 DURATION=5 scripts/bench-http.sh
#   HYBRID=1 CLAIMDEX_MODEL_DIR=/path/to/all-MiniLM-L6-v2 scripts/bench-http.sh
#   SERVE_ARGS="--max-concurrent 64" scripts/bench-http.sh   # other options of claimdex serve
set -euo pipefail

cd "$(dirname "$0")/.."
CLAIMS="${CLAIMS:-10000}"
DURATION="${DURATION:-10}"
CONCURRENCY="${CONCURRENCY:-1 8 64}"
TARGET="${CARGO_TARGET_DIR:-target}"

fail() { echo "bench-http: FAIL: $*" >&2; exit 1; }
command -v wrk >/dev/null || fail "wrk is not installed (apt-get install wrk)"

cargo build --quiet --release --bin claimdex --example hello_axum || fail "cargo build failed"
cargo bench --quiet --bench scale --no-run 2>/dev/null || fail "cargo bench --no-run failed"

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

cargo bench --quiet --bench scale -- --emit "$CLAIMS" "$WORK/gen" >&2

# Starts a server whose first stdout line is "listening on http://ADDR"; sets SERVER_PID and URL.
start() {
  local out="$WORK/server.out"
  : >"$out"
  "$@" >"$out" 2>>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if grep -q '^listening on ' "$out"; then
      URL="$(sed -n 's/^listening on //p' "$out" | head -1)"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; fail "server exited: $*"; }
    sleep 0.5
  done
  fail "server did not start: $*"
}

# Runs wrk at each concurrency; prints "c req/s p99_ms" lines.
measure() {
  local url="$1"
  for c in $CONCURRENCY; do
    local t=$(( c < 2 ? 1 : 2 ))
    STATEMENTS="$WORK/gen/statements.txt" wrk -t"$t" -c"$c" -d"${DURATION}s" --latency \
      -s scripts/wrk-match.lua "$url/api/match" >"$WORK/wrk.out" 2>&1 || fail "wrk failed"
    grep -q "Non-2xx" "$WORK/wrk.out" && { cat "$WORK/wrk.out" >&2; fail "non-2xx responses from $url"; }
    local rps p99
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out")"
    p99="$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; print v}' "$WORK/wrk.out")"
    echo "$c $rps $p99"
  done
}

# claimdex: lexical unless HYBRID=1 (an empty model dir turns the semantic model off).
if [ "${HYBRID:-0}" = "1" ]; then MODEL="${CLAIMDEX_MODEL_DIR:-models/all-MiniLM-L6-v2}"; else MODEL="$WORK/no-model"; fi
echo "bench-http: building a $CLAIMS-claim index and starting claimdex serve" >&2
start env CLAIMDEX_MODEL_DIR="$MODEL" "$TARGET/release/claimdex" --index "$WORK/index" \
  --corpus "$WORK/gen/corpus.jsonl" serve --addr 127.0.0.1:0 ${SERVE_ARGS:-}
curl -sf -X POST -H 'Content-Type: application/json' -d '{"text": "warm up the index", "limit": 5}' \
  "$URL/api/match" >/dev/null || fail "POST /api/match failed"
echo "bench-http: claimdex at $URL" >&2
measure "$URL" >"$WORK/claimdex.txt"
stop_server

start "$TARGET/release/examples/hello_axum" 127.0.0.1:0
echo "bench-http: hello_axum at $URL" >&2
measure "$URL" >"$WORK/ceiling.txt"
stop_server

echo "| concurrency | claimdex req/s | claimdex p99 ms | ceiling req/s | ceiling p99 ms | claimdex / ceiling (req/s) |"
echo "|---:|---:|---:|---:|---:|---:|"
paste -d' ' "$WORK/claimdex.txt" "$WORK/ceiling.txt" | while read -r c rps p99 _ crps cp99; do
  ratio="$(awk -v a="$rps" -v b="$crps" 'BEGIN { printf "%.3f", a / b }')"
  echo "| $c | $rps | $p99 | $crps | $cp99 | $ratio |"
done
