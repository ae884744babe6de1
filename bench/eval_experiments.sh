#!/bin/bash
# The experiments behind docs/evaluation.md: each run is `qa eval` with one change.
# The first run embeds the corpus into $OUT/work-800; later runs with that workdir reuse it.
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/exp}; mkdir -p "$OUT"
E="eval/squad-train-sample.json --quiet"
OLD_ANS="--set answering.dense_weight=0.6 --set answering.coverage_weight=0.4 --set answering.passage_weight=0 --set answering.max_sentences=2 --set answering.margin=0.06 --set answering.min_support=0.45"
run() { name=$1; shift; .venv/bin/qa eval $E "$@" --json $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$name done"; }
run e0-initial --workdir $OUT/work-800 --set retrieval.fusion=rrf $OLD_ANS
run e1-weighted --workdir $OUT/work-800 $OLD_ANS
run e2-passage --workdir $OUT/work-800 --set answering.max_sentences=2 --set answering.margin=0.06 --set answering.min_support=0.45
run e3-three --workdir $OUT/work-800 --set answering.min_support=0.45
run e4-defaults --workdir $OUT/work-800 --plot $OUT/e4.png
run e7-strict --workdir $OUT/work-800 --set answering.min_support=0.55
run e8-nocov --workdir $OUT/work-800 --set retrieval.coverage_weight=0
run e9-nosent --workdir $OUT/work-800 --set retrieval.sentence_weight=0
run e5-chunk400 --workdir $OUT/work-400 --set chunking.size=400 --set chunking.overlap=100
run e6-chunk1200 --workdir $OUT/work-1200 --set chunking.size=1200 --set chunking.overlap=200
