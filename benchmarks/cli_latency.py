"""Wall time of ``expert-recommend`` calls, start-up included, on a trained project.

Each call is a fresh process, as a user types it. Two variants, timed in one run
with their calls interleaved (so that both see the same load on a shared machine):

- ``in_process`` (``--no-server``): interpreter start, imports, the Kedro
  configuration, loading the adapter, the base model and the saved retrieval index,
  encoding the agenda and scoring the candidates.
- ``serve`` (with ``--serve``): ``expert-recommend serve`` is started once for the
  project (its start-up is recorded apart, as ``server_ready_s``) and each call is a
  fresh client process that asks it: interpreter start, the CLI's own imports, the
  socket round trip and the server's encoding and scoring.

Run from anywhere::

    python benchmarks/cli_latency.py --project /path/to/trained/project \
        --calls 7 --serve --out benchmarks/results/cli_latency_cpu.json

``--project`` must hold a ``kedro run --pipelines=training`` (adapter and
retrieval index). The load average before each call is recorded: on a shared
machine it explains most of the spread. So is each call's CPU time (user + system
of the process, from ``getrusage``; for ``serve`` the client's plus the server's
during the call, from ``/proc``): on a machine whose cores other jobs hold, it is
the better estimate of what a call costs, since the wall time then mostly waits
for a core. ``--import-profile FILE`` adds one in-process call under
``python -X importtime`` and writes the slowest top-level imports to FILE (JSON).
An existing ``--out`` file keeps its earlier runs: the new run is appended to its
``runs``.
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
    args = [_script(), "--project-path", str(project), "--json"]
    for question in QUESTIONS:
        args += ["-q", question]
    return args


def _script() -> str:
    return shutil.which("expert-recommend") or str(
        Path(sys.executable).parent / "expert-recommend"
    )


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


def _server_cpu_s(pid: int | None) -> float:
    """CPU time (user + system) of the server process so far (Linux ``/proc``)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_call(command: list[str], env: dict[str, str], server: int | None) -> dict:
    """One fresh process: wall and CPU time, load average before it, its output.

    ``cpu_s`` adds the server's CPU time during the call (``server``: its pid).
    """
    load = os.getloadavg()[0]
    cpu_before = _children_cpu_s() + _server_cpu_s(server)
    started = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() + _server_cpu_s(server) - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"expert-recommend failed:\n{done.stderr[-2000:]}")
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_avg_1m": round(load, 2),
        "top": rows[0]["expert_id"],
        "stdout": done.stdout,
    }


def _summary(calls: list[dict]) -> dict:
    walls = [c["wall_s"] for c in calls]
    cpus = [c["cpu_s"] for c in calls]
    return {
        "calls": calls,
        "p50_s": round(statistics.median(walls), 2),
        "p90_s": _percentile(walls, 90),
        "max_s": max(walls),
        "cpu_p50_s": round(statistics.median(cpus), 2),
        "cpu_p90_s": _percentile(cpus, 90),
    }


def _start_server(project: Path, env: dict[str, str], log: Path) -> tuple:
    """``expert-recommend serve`` for ``project``, once it answers: (process, s)."""
    started = time.perf_counter()
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [_script(), "serve", "--project-path", str(project)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    while "Serving " not in log.read_text():
        if server.poll() is not None:
            raise SystemExit(f"expert-recommend serve failed:\n{log.read_text()}")
        time.sleep(0.2)
    return server, round(time.perf_counter() - started, 2)


def _previous_runs(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["runs"] if "runs" in data else [data]


def _run_variants(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """Time the variants, interleaved, and summarise each."""
    command = _command(args.project.resolve())
    variants = {"in_process": [*command, "--no-server"]}
    calls: dict[str, list[dict]] = {name: [] for name in ("in_process", "serve")}
    server, ready_s = None, None
    log = args.out.with_suffix(".serve.log")
    if args.serve:
        server, ready_s = _start_server(args.project.resolve(), env, log)
        variants["serve"] = command
    try:
        for _ in range(args.calls):
            for name, variant in variants.items():
                pid = server.pid if name == "serve" else None
                calls[name].append(_timed_call(variant, env, pid))
                print(name, json.dumps(calls[name][-1] | {"stdout": "..."}), flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    result = {"commands": {name: " ".join(c) for name, c in variants.items()}}
    outputs = {c.pop("stdout") for name in variants for c in calls[name]}
    result["identical_output"] = len(outputs) == 1
    for name in variants:
        result[name] = _summary(calls[name])
    if server is not None:
        answered = log.read_text().count("Ranked ")
        result["serve"] |= {"server_ready_s": ready_s, "answered": answered}
        log.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="Also time a server.")
    parser.add_argument("--machine", default=None, help="Machine, in words.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--import-profile", type=Path, default=None)
    args = parser.parse_args()
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    result = {
        "command": " ".join(["python", *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": args.machine
        or f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        **_run_variants(args, env),
    }
    loads = [
        c["load_avg_1m"]
        for v in ("in_process", "serve")
        for c in result.get(v, {}).get("calls", [])
    ]
    result["load_avg_1m_range"] = [min(loads), max(loads)]
    if args.import_profile is not None:
        profile = _import_profile(
            [*_command(args.project.resolve()), "--no-server"], env
        )
        args.import_profile.write_text(json.dumps(profile, indent=2) + "\n")
        result["import_profile"] = profile
    runs = [*_previous_runs(args.out), result]
    args.out.write_text(json.dumps({"runs": runs}, indent=2) + "\n", encoding="utf-8")
    summary = {
        v: {k: result[v][k] for k in ("p50_s", "p90_s")}
        for v in ("in_process", "serve")
        if v in result
    }
    print(json.dumps(summary | {"load_avg_1m_range": result["load_avg_1m_range"]}))


if __name__ == "__main__":
    main()
