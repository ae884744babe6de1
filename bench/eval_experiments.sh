#!/bin/bash
# The experiments behind docs/evaluation.md: `qa eval` on the full sample, one change per run.
# The first run embeds the corpus into $OUT/work-800; later runs with that workdir reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/qa-eval-experiments}
mkdir -p "$OUT"
run() {
    name=$1; shift
    .venv/bin/qa eval eval/squad-train-sample.json --quiet "$@" --json "$OUT/$name.json" \
        > "$OUT/$name.txt" 2>&1
    echo "$name done"
}
INITIAL="--set retrieval.fusion=rrf --set answering.dense_weight=0.6
  --set answering.coverage_weight=0.4 --set answering.passage_weight=0
  --set answering.max_sentences=2 --set answering.margin=0.06 --set answering.min_support=0.45
  --set answering.novelty_weight=0 --set answering.length_weight=0
  --set answering.answer_type_weight=0"
W="--workdir $OUT/work-800"
run defaults $W --plot "$OUT/defaults.png"
run initial $W $INITIAL
run rrf $W --set retrieval.fusion=rrf
for t in 0.45 0.47 0.49 0.55; do run "threshold-$t" $W --set answering.min_support=$t; done
run no-coverage $W --set retrieval.coverage_weight=0
run no-sentence $W --set retrieval.sentence_weight=0
run no-answer-type $W --set answering.answer_type_weight=0
run no-novelty $W --set answering.novelty_weight=0 --set answering.length_weight=0
run no-ranking $W --set answering.novelty_weight=0 --set answering.length_weight=0 \
    --set answering.answer_type_weight=0
run chunks-400 --workdir "$OUT/work-400" --set chunking.size=400 --set chunking.overlap=100
run chunks-1200 --workdir "$OUT/work-1200" --set chunking.size=1200 --set chunking.overlap=200
.venv/bin/python bench/eval_table.py $(for f in "$OUT"/*.json; do
    n=$(basename "$f" .json); echo "$n=$f"; done)
