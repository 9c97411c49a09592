#!/usr/bin/env bash
# One command for a fresh machine: install, fine-tune on the embedded SmolLM2, then
# evaluate against the baselines and recommend experts for the example agendas.
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1
bash scripts/setup.sh
.venv/bin/kedro run --pipeline=training
.venv/bin/kedro run --pipeline=evaluation
.venv/bin/kedro run --pipeline=inference
