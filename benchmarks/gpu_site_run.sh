#!/usr/bin/env bash
# One Stack Exchange site end to end on the GPU machine, in one device call:
# import, training, evaluation_llm; results and logs copied to $OUT/<tag>/ after
# every step, so a call stopped at its time limit still returns what finished.
# Run from the staged project copy (benchmarks/gpu_env.sh sourced), e.g.
#   bash benchmarks/gpu_site_run.sh history activity stackexchange+gpu \
#     model_training.include_augmented=false recommender.candidate_activity=50
# Args: site, tag, kedro env, then extra --params (comma-joined) for training and
# evaluation_llm alike: a prompt-layout parameter (recommender.*) must reach both,
# since evaluation refuses an adapter trained on another layout.
# STEPS picks the steps (default "import training evaluation_llm"; "inference" also
# recommends for new_agendas with the trained adapter): where the three pass one
# call's limit, run "import training" in one call and "evaluation_llm" in the next,
# in the same project copy.
set -uo pipefail
site=${1:?site} tag=${2:?tag} env=${3:?env}
shift 3
extra=$(IFS=,; echo "$*")
out=${OUT:-benchmarks/results}/$tag
mkdir -p "$out"
params="stackexchange.site=$site"
rep=data/08_reporting/stackexchange/$site
ranked=data/07_model_output/stackexchange/$site
steps=" ${STEPS:-import training evaluation_llm} "
collect() {  # the latest version of each report, the logs so far
  local f src
  for f in results_table.md evaluation_metrics.json llm_rerank_tuning.json \
    training_history.json rerank_pairs_report.json inference_metrics.json; do
    src=$(find "$rep" -path "*$f*" -type f 2>/dev/null | sort | tail -1)
    if [ -n "$src" ]; then cp "$src" "$out/$f"; fi
  done
  for f in llm_rankings cross_encoder_rankings zero_shot_rankings baseline_rankings; do
    src=$(find "$ranked" -path "*$f.parquet*" -type f 2>/dev/null | sort | tail -1)
    if [ -n "$src" ]; then cp "$src" "$out/$f.parquet"; fi
  done
  src=$(find "$ranked" -path "*recommendations.csv*" -type f 2>/dev/null | sort | tail -1)
  if [ -n "$src" ]; then cp "$src" "$out/recommendations.csv"; fi
  for f in "$out"/kedro_*.log; do
    if [ -f "$f" ]; then gzip -kf "$f"; fi
  done
}
run() {  # name, pipeline, params
  case $steps in *" $1 "*) ;; *) return 0 ;; esac
  local t0=$SECONDS
  kedro run --env "$env" --pipelines="$2" --params "$3" >"$out/kedro_$1.log" 2>&1
  local rc=$?
  echo "$1: kedro run --env $env --pipelines=$2 --params $3 -> rc $rc, $((SECONDS - t0)) s" \
    | tee -a "$out/commands.txt"
  collect
  return $rc
}
run import stackexchange_import "$params" \
  && run training training "$params${extra:+,$extra}" \
  && run evaluation_llm evaluation_llm "$params${extra:+,$extra}" \
  && run inference inference "$params${extra:+,$extra}"
grep -hE "Training done|Selected|tuned|Error" "$out"/kedro_*.log | cut -c1-200 | tail -12
rm -f "$out"/kedro_*.log  # the .gz copies stay
grep -E "popularity \| full|recent_activity \| full|prior \| full|llm_rerank \| full|cross_encoder \| full|bm25 \| full" \
  "$out/results_table.md" 2>/dev/null
