"""Wall time of ``expert-recommend`` calls, start-up included, on a trained project.

Each call is a fresh process, as a user types it: interpreter start, imports, the
Kedro configuration, loading the adapter, the base model and the saved retrieval
index, encoding the agenda and scoring the candidates. Run from anywhere::

    python benchmarks/cli_latency.py --project /path/to/trained/project \
        --calls 5 --out benchmarks/results/cli_latency_cpu.json

``--project`` must hold a ``kedro run --pipelines=training`` (adapter and
retrieval index). The load average before each call is recorded: on a shared
machine it explains most of the spread. So is each call's CPU time (user + system
of the process, from ``getrusage``): on a machine whose cores other jobs hold, it is
the better estimate of what the call costs, since the wall time then mostly waits
for a core. ``--import-profile FILE`` adds one call under ``python -X importtime``
and writes the slowest top-level imports to FILE (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation between the few calls)."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * q // 100) - 1)]


def _import_profile(command: list[str], env: dict[str, str]) -> dict:
    """Cumulative seconds of the slowest top-level packages imported by one call."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    rows = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", done.stderr)
    top: dict[str, float] = {}
    for cumulative, indent, name in rows:
        if len(indent) == 1:  # imported by the CLI itself, not by another module
            package = name.split(".")[0]
            top[package] = top.get(package, 0.0) + int(cumulative) / 1e6
    ranked = sorted(top.items(), key=lambda item: -item[1])[:15]
    return {
        "wall_s": round(wall, 2),
        "imports_s": round(sum(top.values()), 2),
        "slowest": {name: round(s, 2) for name, s in ranked},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--import-profile", type=Path, default=None)
    args = parser.parse_args()
    command = _command(args.project.resolve())
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    calls = []
    for _ in range(args.calls):
        load = os.getloadavg()[0]
        cpu_before = _children_cpu_s()
        started = time.perf_counter()
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - started
        cpu = _children_cpu_s() - cpu_before
        if done.returncode != 0:
            raise SystemExit(f"expert-recommend failed:\n{done.stderr[-2000:]}")
        top = json.loads(done.stdout.strip().splitlines()[-1])[0]["expert_id"]
        calls.append(
            {
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "load_avg_1m": round(load, 2),
                "top": top,
            }
        )
        print(json.dumps(calls[-1]), flush=True)
    walls = [c["wall_s"] for c in calls]
    cpus = [c["cpu_s"] for c in calls]
    result = {
        "command": " ".join(command),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores",
        "calls": calls,
        "p50_s": round(statistics.median(walls), 2),
        "p90_s": _percentile(walls, 90),
        "max_s": max(walls),
        "cpu_p50_s": round(statistics.median(cpus), 2),
        "cpu_p90_s": _percentile(cpus, 90),
    }
    if args.import_profile is not None:
        profile = _import_profile(command, env)
        args.import_profile.write_text(json.dumps(profile, indent=2) + "\n")
        result["import_profile"] = profile
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("p50_s", "p90_s", "cpu_p50_s")}))


if __name__ == "__main__":
    main()
