#!/usr/bin/env bash
# One command for a fresh machine: install, fine-tune on the embedded SmolLM2 (the
# `training` pipeline), then recommend experts for the example agendas in
# data/01_raw/new_agendas.csv. `kedro run --pipelines=evaluation` scores the result
# against the baselines (README "Evaluate").
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1
bash scripts/setup.sh
.venv/bin/kedro run --pipelines=training
.venv/bin/kedro run --pipelines=inference
