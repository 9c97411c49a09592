#!/usr/bin/env bash
# The GPU measurements, one step per device call (each well inside 10 minutes).
# Run from the project root on the GPU machine after staging (benchmarks/gpu_env.sh):
#   bash benchmarks/gpu_runs.sh pipeline   # kedro run --env gpu --pipelines=training
#   bash benchmarks/gpu_runs.sh evaluation # kedro run --env gpu --pipelines=evaluation_llm
#   bash benchmarks/gpu_runs.sh train      # train_throughput.py: seed vs ours, both models
#   bash benchmarks/gpu_runs.sh infer      # inference_throughput.py, both models
#   bash benchmarks/gpu_runs.sh zero-shot  # evaluation_llm up to the zero-shot
#                                          # systems only (no adapter needed)
# Logs and results go to $OUT (default benchmarks/results).
set -uo pipefail
source benchmarks/gpu_env.sh
out=${OUT:-benchmarks/results}
mkdir -p "$out"
step=${1:?pipeline|evaluation|train|infer|zero-shot}
shift
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt"
case "$step" in
  pipeline)
    # The varlen kernel first (seconds): if it fails here, train with sdpa instead.
    attn=()
    python3 -m pytest -q -p no:cacheprovider tests/modeling/test_varlen_attention.py \
      2>&1 | tee "$out/gpu_tests.log" | tail -3
    [ "${PIPESTATUS[0]}" = 0 ] || attn=(--params model_training.attn_implementation=sdpa)
    SECONDS=0
    kedro run --env gpu --pipelines=training "${attn[@]}" "$@" 2>&1 \
      | tee "$out/kedro_training.log" | grep -E "INFO|Error|error"
    echo "kedro run --env gpu --pipelines=training: ${SECONDS} s wall" | tee -a "$out/gpu.txt"
    tar czf "$out/training_outputs.tar.gz" data/06_models/lora_adapter data/08_reporting
    ;;
  evaluation)
    SECONDS=0
    kedro run --env gpu --pipelines=evaluation_llm "$@" 2>&1 \
      | tee "$out/kedro_evaluation_llm.log" | grep -E "INFO|Error|error"
    echo "kedro run --env gpu --pipelines=evaluation_llm: ${SECONDS} s wall" \
      | tee -a "$out/gpu.txt"
    tar czf "$out/evaluation_outputs.tar.gz" data/08_reporting data/07_model_output
    ;;
  zero-shot)
    # The base model without adapter in the rerank layout of the given --params, on
    # the same split and baselines: data_processing, the prepared base model, then
    # evaluation_llm up to rank_zero_shot_projects_node (no lora_adapter needed).
    SECONDS=0
    { kedro run --env gpu --pipelines=data_processing \
        && kedro run --env gpu --pipelines=model_training \
          --nodes=prepare_base_model_node \
        && kedro run --env gpu --pipelines=evaluation_llm \
          --to-nodes=rank_zero_shot_projects_node "$@"; } 2>&1 \
      | tee "$out/kedro_zero_shot.log" | grep -E "INFO|Error|error"
    echo "zero-shot evaluation: ${SECONDS} s wall" | tee -a "$out/gpu.txt"
    tar czf "$out/zero_shot_outputs.tar.gz" data/07_model_output data/08_reporting
    ;;
  train)
    tok=$(ls -d data/05_model_input/tokenized_train/*/tokenized_train | tail -1)
    # e.g. --smollm2 data/06_models/base_model --steps-small 100
    #   or --tokenizer data/06_models/base_model --llama8b ~/llama8b
    python3 benchmarks/train_throughput.py --examples "$tok" --out "$out" "$@" \
      2>&1 | tee "$out/train_throughput.log" | grep -v "it/s]"
    ;;
  infer)
    python3 benchmarks/inference_throughput.py --smollm2 data/06_models/base_model \
      --llama8b "$HOME/llama8b" --out "$out" "$@" 2>&1 \
      | tee "$out/inference_throughput.log" | grep -v "it/s]"
    ;;
esac
