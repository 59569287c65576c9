#!/usr/bin/env bash
# Sustained load: serves an index with the release build of `claimdex serve` on loopback, drives
# POST /api/match and GET /api/search with wrk at high concurrency for DURATION seconds, samples
# the server's memory from /proc every 10 s (RSS, and its anonymous and file-backed parts) and
# reports requests served, non-2xx responses, socket errors and memory growth from warm-up (60 s)
# to the end.
#
#   scripts/soak.sh [DATA]                         # DATA: claims to index (e.g. ../shared/data/checkthat2021-2b/vclaims.jsonl.gz); default corpus/
#   DURATION=120 CONNECTIONS=64 scripts/soak.sh ../shared/data/checkthat2021-2b/vclaims.jsonl.gz
#
# Environment: DURATION (s, default 600), CONNECTIONS (total, default 64, split 3:1 match:search),
# THREADS (wrk threads per run, default 2), STATEMENTS (statements file for wrk-match.lua; default
# the queries TSV next to DATA if there is one), SOAK_LOG (a file to keep the memory samples in).
# The server inherits the environment (e.g. MALLOC_ARENA_MAX). Exits non-zero if any request
# failed or the server died.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-600}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
DATA="${1:-}"
WARMUP=60
[ "$DURATION" -lt $((WARMUP * 2)) ] && WARMUP=$((DURATION / 2))

fail() { echo "soak: FAIL: $*" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
  echo "soak: installing wrk" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null || fail "cannot install wrk"
fi

cargo build --quiet --release --bin claimdex || fail "cargo build --release failed"
BIN="${CARGO_TARGET_DIR:-target}/release/claimdex"
[ -x "$BIN" ] || fail "no binary at $BIN"

WORK="$(mktemp -d)"
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

INDEX="$WORK/index"
if [ -n "$DATA" ]; then
  [ -e "$DATA" ] || fail "no such file: $DATA"
  echo "soak: indexing $DATA" >&2
  "$BIN" --index "$INDEX" index "$DATA" --json >"$WORK/index.json" 2>"$WORK/index.log" || { cat "$WORK/index.log" >&2; fail "indexing failed"; }
  cat "$WORK/index.json" >&2
  if [ -z "${STATEMENTS:-}" ] && [ -f "$(dirname "$DATA")/queries_train_dev.tsv" ]; then
    export STATEMENTS="$(cd "$(dirname "$DATA")" && pwd)/queries_train_dev.tsv"
  fi
fi

CLAIMDEX_LOG=warn "$BIN" --index "$INDEX" --corpus corpus serve --addr 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; fail "the server exited at start"; }
  sleep 0.1
done
ADDR="$(sed -n 's|^listening on http://||p' "$WORK/serve.out" | head -1)"
[ -n "$ADDR" ] || fail "the server did not start"
echo "soak: serving on $ADDR (pid $SERVER_PID); $(curl -s "http://$ADDR/api/stats" | head -c 200)" >&2

# Memory of the server in kB: total RSS, its anonymous part (heap, thread stacks, the model's
# weights) and its file-backed part (the mmapped index and the binary), and the thread count.
# RssFile is page cache that the kernel may drop; heap growth shows in RssAnon.
mem() { awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} /^Threads:/ {t=$2} END {print r+0, a+0, f+0, t+0}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "0 0 0 0"; }
# A sample every 10 s: "<seconds> <rss> <anon> <file> <threads>".
( t=0; while kill -0 "$SERVER_PID" 2>/dev/null; do echo "$t $(mem)" >>"$WORK/rss.log"; sleep 10; t=$((t + 10)); done ) &
SAMPLER_PID=$!

MATCH_C=$((CONNECTIONS * 3 / 4)); SEARCH_C=$((CONNECTIONS - MATCH_C))
[ "$MATCH_C" -lt "$THREADS" ] && MATCH_C=$THREADS
[ "$SEARCH_C" -lt "$THREADS" ] && SEARCH_C=$THREADS
echo "soak: ${DURATION} s, $MATCH_C connections on /api/match, $SEARCH_C on /api/search" >&2
wrk -t"$THREADS" -c"$MATCH_C" -d"${DURATION}s" --timeout 10s --latency -s scripts/wrk-match.lua "http://$ADDR/api/match" >"$WORK/wrk-match.txt" 2>&1 &
WRK1=$!
wrk -t"$THREADS" -c"$SEARCH_C" -d"${DURATION}s" --timeout 10s --latency -s scripts/wrk-search.lua "http://$ADDR" >"$WORK/wrk-search.txt" 2>&1 &
WRK2=$!
wait "$WRK1" "$WRK2" || true
sleep 1
kill "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
END_MEM="$(mem)"
ALIVE=yes; kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=no
HEALTH="$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz" || true)"

report() { # file label
  local f="$1" label="$2"
  local reqs non2xx sock
  reqs="$(awk '/requests in/ {print $1}' "$f")"
  non2xx="$(awk -F': ' '/Non-2xx/ {print $2}' "$f")"
  sock="$(sed -n 's/^ *Socket errors: *//p' "$f")"
  echo "$label: requests ${reqs:-0}, non-2xx ${non2xx:-0}, socket errors ${sock:-none}, $(awk '/Requests\/sec/ {print $2}' "$f") req/s, latency p50 $(awk '$1 == "50%" {print $2}' "$f") p99 $(awk '$1 == "99%" {print $2}' "$f")"
}
echo "== soak: ${DURATION} s against $ADDR (data: ${DATA:-corpus/}) =="
report "$WORK/wrk-match.txt" "POST /api/match "
report "$WORK/wrk-search.txt" "GET /api/search "
WARM_MEM="$(awk -v w="$WARMUP" '$1 >= w {print $2, $3, $4; exit}' "$WORK/rss.log")"
START_MEM="$(head -1 "$WORK/rss.log" | awk '{print $2, $3, $4}')"
# "<label> <warm-up kB> <end kB>": growth from warm-up to the end.
growth() { awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%s: warm-up %.1f MB, end %.1f MB, growth ", l, a / 1024, b / 1024; if (a > 0) printf "%+.1f%%\n", (b - a) * 100 / a; else print "?" }'; }
read -r S_RSS S_ANON S_FILE <<<"${START_MEM:-0 0 0}"
read -r W_RSS W_ANON W_FILE <<<"${WARM_MEM:-0 0 0}"
read -r E_RSS E_ANON E_FILE E_THREADS <<<"$END_MEM"
echo "memory at start: RSS $((S_RSS / 1024)) MB (anon $((S_ANON / 1024)), file $((S_FILE / 1024))); warm-up at ${WARMUP} s"
growth "RSS     " "$W_RSS" "$E_RSS"
growth "RssAnon " "$W_ANON" "$E_ANON"
growth "RssFile " "$W_FILE" "$E_FILE"
echo "threads at the end: $E_THREADS"
echo "samples (s, RSS kB, anon kB, file kB, threads):"
sed 's/^/  /' "$WORK/rss.log"
[ -n "${SOAK_LOG:-}" ] && cp "$WORK/rss.log" "$SOAK_LOG"
echo "server alive: $ALIVE, /healthz: $HEALTH, errors logged: $(grep -c -i 'error' "$WORK/serve.err" || true)"

TOTAL_BAD=$(( $(awk -F': ' '/Non-2xx/ {s+=$2} END {print s+0}' "$WORK/wrk-match.txt" "$WORK/wrk-search.txt") ))
SOCK=$(awk '/Socket errors/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i } END { print s + 0 }' "$WORK/wrk-match.txt" "$WORK/wrk-search.txt")
[ "$ALIVE" = yes ] && [ "$HEALTH" = 200 ] && [ "$TOTAL_BAD" -eq 0 ] && [ "$SOCK" -eq 0 ] || fail "see above"
echo "soak: OK"
