"""Wall time of ``expert-recommend`` calls, start-up included, on a trained project.

Each call is a fresh process, as a user types it: interpreter start, imports, the
Kedro configuration, loading the adapter, the base model and the saved retrieval
index, encoding the agenda and scoring the candidates. Run from anywhere::

    python benchmarks/cli_latency.py --project /path/to/trained/project \
        --calls 5 --out benchmarks/results/cli_latency_cpu.json

``--project`` must hold a ``kedro run --pipelines=training`` (adapter and
retrieval index). The load average before each call is recorded: on a shared
machine it explains most of the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = (
    "How are European hospital groups tendering for infusion pumps?",
    "Which suppliers gained share in Germany over the last two years?",
)


def _command(project: Path) -> list[str]:
    script = shutil.which("expert-recommend") or str(
        Path(sys.executable).parent / "expert-recommend"
    )
    args = [script, "--project-path", str(project), "--json"]
    for question in QUESTIONS:
        args += ["-q", question]
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    command = _command(args.project.resolve())
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    calls = []
    for _ in range(args.calls):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"expert-recommend failed:\n{done.stderr[-2000:]}")
        top = json.loads(done.stdout.strip().splitlines()[-1])[0]["expert_id"]
        calls.append({"wall_s": round(wall, 2), "load_avg_1m": load, "top": top})
        print(json.dumps(calls[-1]), flush=True)
    walls = [c["wall_s"] for c in calls]
    result = {
        "command": " ".join(command),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores",
        "calls": calls,
        "p50_s": round(statistics.median(walls), 2),
        "max_s": max(walls),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("p50_s", "max_s")}))


if __name__ == "__main__":
    main()
