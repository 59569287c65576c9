#!/usr/bin/env bash
# Fuzzes the ClaimReview importer, the native JSONL reader, the date parser and the search/match
# entry points (fuzz/targets.rs) for SECONDS each (default 60).
#
#   scripts/fuzz.sh [SECONDS]            # cargo-fuzz (libFuzzer) if `cargo +nightly fuzz` works, else stable
#   scripts/fuzz.sh --stable [SECONDS]   # the stable-Rust fallback: seeded mutator in tests/fuzz.rs
#
# Environment: TARGETS (comma-separated; default all four), FUZZ_SEED (stable mode; default 1).
# Crashing inputs land in fuzz/artifacts/<target>/; copy one to fuzz/regressions/<target>/ to make
# it a regression test that `cargo test` replays.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=auto
if [ "${1:-}" = "--stable" ]; then MODE=stable; shift; fi
SECONDS_EACH="${1:-60}"
TARGETS="${TARGETS:-claimreview,jsonl,date,query}"

if [ "$MODE" = auto ]; then
  if cargo +nightly fuzz --version >/dev/null 2>&1; then MODE=libfuzzer; else MODE=stable; fi
fi

if [ "$MODE" = libfuzzer ]; then
  echo "fuzz: cargo-fuzz (nightly), ${SECONDS_EACH} s per target" >&2
  status=0
  for t in ${TARGETS//,/ }; do
    start=$(date +%s)
    # -max_total_time bounds the run; libFuzzer prints "#N DONE" with the number of inputs tried.
    if ! (cd fuzz && cargo +nightly fuzz run "$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 2>&1 \
          | tee "/tmp/claimdex-fuzz-$t.log" | grep -E "DONE|SUMMARY|crash-|timeout-" ); then
      :
    fi
    if grep -qE "SUMMARY|crash-|timeout-" "/tmp/claimdex-fuzz-$t.log"; then status=1; fi
    echo "fuzz $t: $(( $(date +%s) - start )) s; log /tmp/claimdex-fuzz-$t.log"
  done
  exit $status
fi

echo "fuzz: stable fallback (tests/fuzz.rs; debug build of claimdex, so overflow checks are on), ${SECONDS_EACH} s per target" >&2
FUZZ_SECONDS="$SECONDS_EACH" FUZZ_TARGETS="$TARGETS" FUZZ_SEED="${FUZZ_SEED:-1}" \
  cargo test --test tests fuzz_for_a_while -- --ignored --nocapture --test-threads=1 2>&1 \
  | grep -E "fuzz (claimreview|jsonl|date|query):|saved|panicked|test result"
