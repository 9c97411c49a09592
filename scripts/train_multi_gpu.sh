#!/usr/bin/env bash
# Distributed QLoRA training of the model_training pipeline on the GPUs of one host.
#
#   scripts/train_multi_gpu.sh [ddp|fsdp] [extra kedro run args...]
#
# Env: NUM_GPUS (default: all visible), SKIP_DATA=1 (tokenized data already made),
#      DATA_PIPELINE (default: training), KEDRO_ENV (default: multi_gpu).
# Step 1 prepares the data once, single-process (up to the tokenized datasets);
# step 2 trains with one process per GPU; only rank 0 writes outputs
# (docs/multi_gpu.md).
set -euo pipefail

MODE="${1:-ddp}"
shift || true
case "$MODE" in
  ddp | fsdp) ;;
  *) echo "usage: $0 [ddp|fsdp] [kedro run args...]" >&2; exit 2 ;;
esac

# NVLink multicast (NVLS / symmetric memory) stays off on these machines.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export KEDRO_DISABLE_TELEMETRY="${KEDRO_DISABLE_TELEMETRY:-true}"
KEDRO_ENV="${KEDRO_ENV:-multi_gpu}"
NUM_GPUS="${NUM_GPUS:-$(nvidia-smi --list-gpus 2>/dev/null | wc -l)}"
if [ "$NUM_GPUS" -lt 2 ]; then
  echo "Found $NUM_GPUS GPU(s); set NUM_GPUS or use: kedro run --env gpu" >&2
  exit 1
fi

if [ "${SKIP_DATA:-0}" != "1" ]; then
  python -m kedro run --env "$KEDRO_ENV" --pipelines="${DATA_PIPELINE:-training}" \
    --to-nodes=tokenize_train_node,tokenize_validation_node
fi

accelerate launch --config_file "conf/multi_gpu/accelerate_${MODE}.yaml" \
  --num_processes "$NUM_GPUS" \
  -m kedro run --env "$KEDRO_ENV" --pipelines=model_training \
  --from-nodes=verify_hardware_node "$@"
