#!/usr/bin/env bash
# The test command: installs the project if .venv is missing, then lint + tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1
[ -x .venv/bin/kedro ] || bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
