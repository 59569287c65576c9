#!/usr/bin/env bash
# The flag's feature-group ablation of BENCHMARKS.md: trains the flag model on the replay of the
# train debates with feature groups added one at a time and scores each on the dev debates.
# Needs the two replay dumps (each one `claimdex eval --debates` run, hybrid, minutes to an hour):
#   claimdex --index /tmp/idx2021 eval --debates $T --qrels $D/qrels_train.tsv --dump /tmp/flagtrain.tsv
#   claimdex --index /tmp/idx2021 eval --debates $T --qrels $D/qrels_dev.tsv --dump /tmp/flagdev.tsv
# (D=../shared/data/checkthat2021-2b, T=$D/transcripts/train_dev). Usage: scripts/flag-ablation.sh [TRAIN DEV]
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN="${1:-/tmp/flagtrain.tsv}"
DEV="${2:-/tmp/flagdev.tsv}"
BIN=./target/release/claimdex
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

groups=(
  "fused,lexical,evidence"
  "margin_next,margin_5th"
  "statement_coverage,claim_coverage,log_terms,short,bigram_overlap"
  "has_number,number_match,speaker_match,first_person,question,claim_age"
  "semantic,semantic_text,semantic_title,semantic_rank,lexical_rank"
  "match_prob,match_margin"
)
names=(
  "best hit's scores (fused, lexical, evidence passage)"
  "+ margins over the 2nd and 5th hit"
  "+ term and bigram coverage, length"
  "+ numbers, speaker, first person, question, claim age"
  "+ cosines and ranks (semantic)"
  "+ the match model's confidence and margin (shipped)"
)
all=$(IFS=,; echo "${groups[*]}")
echo "| features | train AP | dev AP | dev flagged P / R / F1 | dev flags per hour |"
echo "|---|---|---|---|---|"
used=""
for i in "${!groups[@]}"; do
  used="${used:+$used,}${groups[$i]}"
  without=$(tr ',' '\n' <<<"$all" | grep -vxF -f <(tr ',' '\n' <<<"$used") | paste -sd, || true)
  args=(train-flag --samples "$TRAIN" --eval-samples "$DEV" --out "$OUT/m$i.json")
  [ -n "$without" ] && args+=(--without "$without")
  out=$("$BIN" "${args[@]}" 2>/dev/null)
  train_ap=$(sed -n 1p <<<"$out" | sed 's/.*train AP \([0-9.]*\).*/\1/')
  dev_ap=$(sed -n 2p <<<"$out" | sed 's/.*AP \([0-9.]*\)$/\1/')
  read -r p r f n ph < <(sed -n 3p <<<"$out" | sed 's/.*P \([0-9.]*\) R \([0-9.]*\) F1 \([0-9.]*\), \([0-9]*\) flags (\([0-9.]*\) per hour)/\1 \2 \3 \4 \5/')
  echo "| ${names[$i]} | $train_ap | $dev_ap | $p / $r / $f | $ph |"
done
