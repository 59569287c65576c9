#!/usr/bin/env bash
# Fuzzes the ClaimReview importer, the native JSONL reader, the date parser and the search/match
# entry points (fuzz/targets.rs) for SECONDS each (default 60).
#
#   scripts/fuzz.sh [SECONDS]            # cargo-fuzz (libFuzzer) if `cargo +nightly fuzz` works, else stable
#   scripts/fuzz.sh --stable [SECONDS]   # the stable-Rust fallback: seeded mutator in tests/fuzz.rs
#
# Environment: TARGETS (comma-separated; default all four), FUZZ_SEED (stable mode; default 1),
# SANITIZER (libFuzzer mode: none or address; default none, see RELIABILITY.md), RSS_LIMIT_MB
# (default 2048).
#
# libFuzzer mode builds the targets in fuzz/ (its own workspace and target dir) optimised, with
# debug assertions and overflow checks, and runs each one from fuzz/corpus/<target>/ (kept between
# runs; gitignored), seeded from tests/fixtures/claimreview/, corpus/ and fuzz/seeds/, with the
# dictionary fuzz/dicts/<target>.dict; an input slower than 2 s counts as a hang. Crashing inputs
# land in fuzz/artifacts/<target>/; minimise one (`cargo +nightly fuzz tmin`) and copy it to
# fuzz/regressions/<target>/ to make it a regression test that `cargo test` replays.
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
  # The fuzz crate has its own target dir; a CARGO_TARGET_DIR meant for the main crate would mix them.
  unset CARGO_TARGET_DIR
  # Start from the main crate's lock file, so that the fuzz build uses the same dependency versions.
  [ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
  FUZZ_FLAGS=(-s "${SANITIZER:-none}" --codegen-units 16)
  echo "fuzz: cargo-fuzz (nightly, sanitizer ${SANITIZER:-none}), ${SECONDS_EACH} s per target" >&2
  cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" >&2
  status=0
  for t in ${TARGETS//,/ }; do
    case "$t" in
      claimreview) seeds=(tests/fixtures/claimreview) ;;
      jsonl) seeds=(corpus) ;;
      *) seeds=("fuzz/seeds/$t") ;;
    esac
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="/tmp/claimdex-fuzz-$t.log"
    start=$(date +%s)
    cargo +nightly fuzz run "${FUZZ_FLAGS[@]}" "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$SECONDS_EACH" -timeout=2 -rss_limit_mb="${RSS_LIMIT_MB:-2048}" \
      -dict="fuzz/dicts/$t.dict" -print_final_stats=1 >"$log" 2>&1 || status=1
    # libFuzzer's last status line ("#N DONE cov: .. ft: .. corp: ..") and its final stats.
    last="$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/[[:space:]]+/ /g')"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    found="$(grep -cE '^artifact_prefix|Test unit written to' "$log" || true)"
    echo "fuzz $t: $(( $(date +%s) - start )) s, ${execs:-?} executions, corpus files $(find "fuzz/corpus/$t" -type f | wc -l); ${last:-no status line}; crashes/hangs written: $found; log $log"
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written to' "$log" | head -5 || true
  done
  exit $status
fi

echo "fuzz: stable fallback (tests/fuzz.rs; debug build of claimdex, so overflow checks are on), ${SECONDS_EACH} s per target" >&2
FUZZ_SECONDS="$SECONDS_EACH" FUZZ_TARGETS="$TARGETS" FUZZ_SEED="${FUZZ_SEED:-1}" \
  cargo test --test tests fuzz_for_a_while -- --ignored --nocapture --test-threads=1 2>&1 \
  | grep -E "fuzz (claimreview|jsonl|date|query):|saved|panicked|test result"
