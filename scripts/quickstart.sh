#!/usr/bin/env bash
# One command for a fresh machine: create .venv and install (scripts/setup.sh),
# fine-tune on the embedded SmolLM2 (the `training` pipeline), then recommend experts
# for the example agendas in data/01_raw/new_agendas.csv (the `inference` pipeline,
# which ends with a table of each agenda's top experts and the path of the CSV).
# `kedro run --pipelines=evaluation_llm` then scores the adapter against the
# baselines (README "Run the pipelines").
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1
bash scripts/setup.sh
.venv/bin/kedro run --pipelines=training
.venv/bin/kedro run --pipelines=inference
