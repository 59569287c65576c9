#!/usr/bin/env bash
# Prints the ranking ablation tables of BENCHMARKS.md: each row is `claimdex eval` with settings.
# Usage: scripts/ablation.sh [train|dev]   (default dev). Needs the release binary and the
# indexes built by:
#   claimdex --index /tmp/idx2020 index ../shared/data/checkthat2020/verified_claims.docs.tsv
#   claimdex --index /tmp/idx2021 index ../shared/data/checkthat2021-2b/vclaims.jsonl.gz
# (with the semantic model fetched by scripts/fetch-model.sh, so that claims get vectors).
set -euo pipefail
cd "$(dirname "$0")/.."
SPLIT="${1:-dev}"
BIN=./target/release/claimdex
D20=../shared/data/checkthat2020
D21=../shared/data/checkthat2021-2b
I20="${I20:-/tmp/idx2020}"
I21="${I21:-/tmp/idx2021}"
Q21=qrels_$SPLIT.tsv

row20() {
  local name="$1"; shift
  local out
  out=$("$BIN" --index "$I20" eval --queries "$D20/$SPLIT/tweets.queries.tsv" --qrels "$D20/$SPLIT/tweet-vclaim-pairs.qrels" "$@" 2>/dev/null)
  printf '| %s | %s / %s | `%s` |\n' "$name" "$(sed -n 3p <<<"$out" | awk '{print $5}')" "$(sed -n 4p <<<"$out" | awk '{print $5}')" "${*:-(defaults)}"
}
row21() {
  local name="$1"; shift
  local out
  out=$("$BIN" --index "$I21" eval --queries "$D21/queries_train_dev.tsv" --transcripts "$D21/transcripts/train_dev" --qrels "$D21/$Q21" "$@" 2>/dev/null)
  printf '| %s | %s | %s | `%s` |\n' "$name" "$(sed -n 3p <<<"$out" | awk '{print $5}')" "$(sed -n 3p <<<"$out" | awk '{print $7}')" "${*:-(defaults)}"
}

echo "CheckThat! 2020 $SPLIT (tweets vs Snopes), MAP@5 as is / twins merged"
echo
echo "| system | MAP@5 | settings |"
echo "|---|---|---|"
row20 "BM25, claim+title one field, stemmed, stopwords" --set strip_links=false --set split_tags=false --set semantic_weight=0 --set rerank_depth=0
row20 "+ links stripped from tweets" --set split_tags=false --set semantic_weight=0 --set rerank_depth=0
row20 "+ hashtags and @mentions split into words" --set semantic_weight=0 --set rerank_depth=0
row20 "+ match model re-ranks the top 20 (lexical shipped)" --set semantic_weight=0
row20 "MiniLM cosine added, weight 1.0, fused order" --set query_adapter=false --set semantic_weight=1.0 --set rerank_depth=0
row20 "MiniLM cosine added, weight 0.5, fused order" --set query_adapter=false --set rerank_depth=0
row20 "+ query adapter on the tweet's embedding" --set rerank_depth=0
row20 "+ match model re-ranks the top 20 (shipped)"
row20 "same, without the query adapter" --set query_adapter=false
echo
echo "CheckThat! 2021-2B $SPLIT (debate sentences vs PolitiFact)"
echo
echo "| system | MAP@5 | R@10 | settings |"
echo "|---|---|---|---|"
OFF="--set evidence_weight=0 --set context_weight=0 --set speaker_weight=0 --set semantic_weight=0"
row21 "BM25, claim+title one field (plain)" $OFF --set rerank_depth=0
row21 "+ fact-check article passages" --set context_weight=0 --set speaker_weight=0 --set semantic_weight=0 --set rerank_depth=0
row21 "+ speaker name vs claim speaker" --set context_weight=0 --set semantic_weight=0 --set rerank_depth=0
row21 "+ previous sentence as context" --set semantic_weight=0 --set rerank_depth=0
row21 "+ match model re-ranks the top 20 (lexical shipped)" --set semantic_weight=0
row21 "MiniLM cosine added (statement only), fused order" --set semantic_context=false --set rerank_depth=0
row21 "MiniLM over previous + current sentence, fused order" --set rerank_depth=0
row21 "+ match model re-ranks the top 20 (shipped)"
row21 "same, MiniLM over the statement only" --set semantic_context=false
