#!/usr/bin/env bash
# Variants side by side, one GPU each: a project copy per variant in ~/variant_<i>
# (made once, reused by later steps so `evaluation` finds that variant's adapter),
# `gpu_runs.sh <step>` with that variant's --params, pinned by CUDA_VISIBLE_DEVICES.
# Run from the project root on a multi-GPU machine after staging, e.g.
#   bash benchmarks/gpu_parallel.sh pipeline \
#     "recommender.candidate_region=true,recommender.agenda_region=true" \
#     "recommender.candidate_region=true,recommender.agenda_region=compare"
#   bash benchmarks/gpu_parallel.sh evaluation "<same params A>" "<same params B>"
# Results: $OUT/variant_<i>/ (default benchmarks/results/variant_<i>/).
set -uo pipefail
step=${1:?pipeline|evaluation|train|infer}
shift
out=${OUT:-$PWD/benchmarks/results}
gpus=$(nvidia-smi -L | wc -l)
[ "$#" -le "$gpus" ] || { echo "$# variants but $gpus GPUs" >&2; exit 2; }
i=0
for params in "$@"; do
  dir="$HOME/variant_$i"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    tar cf - --exclude=./.gpu-stage . | tar xf - -C "$dir"
  fi
  mkdir -p "$out/variant_$i"
  echo "$params" >"$out/variant_$i/params.txt"
  (cd "$dir" && CUDA_VISIBLE_DEVICES=$i OUT="$out/variant_$i" \
    bash benchmarks/gpu_runs.sh "$step" ${params:+--params "$params"} \
    >"$out/variant_$i/$step.log" 2>&1) &
  i=$((i + 1))
done
wait
tail -n 25 "$out"/variant_*/"$step".log
