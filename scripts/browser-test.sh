#!/usr/bin/env bash
# Browser test of the search page: builds claimdex, serves a temporary index of corpus/ on a free
# port, loads /?q=... in headless Chromium (the page runs the match on load) and checks the DOM.
# Also saves a screenshot to $SCREENSHOT (default /tmp/claimdex-page.png).
set -euo pipefail

cd "$(dirname "$0")/.."
SCREENSHOT="${SCREENSHOT:-/tmp/claimdex-page.png}"
QUERY="fully%20committed%20to%20amnesty"

fail() { echo "browser-test: FAIL: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "browser-test: installing chromium" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update >/dev/null && $SUDO apt-get install -y chromium >/dev/null || fail "cannot install chromium"
fi

cargo build --quiet --bin claimdex || fail "cargo build failed"
BIN="${CARGO_TARGET_DIR:-target}/debug/claimdex"
[ -x "$BIN" ] || fail "no binary at $BIN"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

env -u CLAIMDEX_TOKEN "$BIN" --index "$WORK/index" --corpus corpus serve --addr 127.0.0.1:0 >"$WORK/out" 2>"$WORK/log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$WORK/out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/log" >&2; fail "the server exited at start"; }
  sleep 0.1
done
BASE="$(sed -n 's/^listening on //p' "$WORK/out" | head -1)"
[ -n "$BASE" ] || fail "the server did not print its address"
URL="$BASE/?q=$QUERY"
echo "browser-test: loading $URL" >&2

CHROME=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$WORK/profile" --virtual-time-budget=5000)

"${CHROME[@]}" --dump-dom "$URL" >"$WORK/dom.html" 2>"$WORK/chromium.log" || { tail -20 "$WORK/chromium.log" >&2; fail "chromium --dump-dom failed"; }
for want in "Abdul Qahar Balki" "Misleading" "refutes" "Human Rights Watch"; do
  grep -q "$want" "$WORK/dom.html" || { head -c 4000 "$WORK/dom.html" >&2; fail "the page does not show \"$want\" after matching"; }
done
grep -q 'class="badge misleading"' "$WORK/dom.html" || fail "the verdict badge is missing"

"${CHROME[@]}" --screenshot="$SCREENSHOT" --window-size=1200,1400 "$URL" >/dev/null 2>>"$WORK/chromium.log" \
  || fail "chromium --screenshot failed"
[ -s "$SCREENSHOT" ] || fail "no screenshot written"

echo "browser-test: ok (screenshot: $SCREENSHOT)"
