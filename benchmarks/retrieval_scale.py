"""Retrieval index at roster scale: build, size, memory, load and per-agenda latency.

Run from the project root (``src/`` on ``PYTHONPATH``)::

    python benchmarks/retrieval_scale.py --sizes 1000 10000 100000 --reuse-embeddings
    python benchmarks/retrieval_scale.py --tiny --out /tmp/bench   # smoke test

Rosters are synthetic (``synthetic_roster.py``: fields of the shipped experts
recombined with a seed, real training agendas); queries are real held-out agendas.
For each size the project's own code builds the artifact (``fit_retrieval_index``:
BM25 via bm25s, MiniLM expert embeddings, popularity; the fusion weight is fixed,
since a synthetic roster has no validation split) and saves it with
``RetrievalIndexDataset``; a fresh process then loads it from disk and retrieves the
top-K candidates (``RetrievalIndex.candidates``) of one agenda at a time: exact,
brute force (BM25 scores of every expert, a numpy dot product over the normalised
embeddings, per-agenda z-score fusion, a full ranking).

Encoding the profiles is the slow part of a build: the embeddings of the largest
roster are computed in chunks of ``--chunk`` profiles with the real model and cached
under ``benchmarks/.cache`` (git-ignored) with each chunk's encoding time;
``--reuse-embeddings`` reuses cached chunks (a size's ``profile_encode_s`` is then the
time of the run that encoded them). The build seeds the shared encoder's cache with
these embeddings, so the dense fit only embeds what is not cached: every expert's
past questions, unless ``--derive-history`` gives them derived embeddings as well
(blends of encoded profiles; recorded as ``history_embeddings``).
``fit_texts_encoded`` counts the texts the fit still had to encode (0 with
``--derive-history``). ``--encode-limit N`` encodes the
first ``N`` profiles only: the others get a derived embedding (a random blend of
two encoded profiles, normalised; exact search costs the same whatever the values)
and their encoding time is extrapolated from the measured throughput
(``profile_encode_extrapolated``). Every build and query runs in its own process, so
its peak resident memory (``ru_maxrss``) is that phase's alone; it includes the
Python runtime, torch and the MiniLM model (``rss_before_index_mib`` is the process
before the index is loaded).

Per agenda, ``latency`` is ``RetrievalIndex.candidates`` end to end (query encoding
included); ``scan`` is the part that grows with the roster (BM25 scores, dot product,
fusion, top-K) with the query already encoded; ``step_p50_ms`` splits it.

Writes ``<out>/retrieval_scale_cpu.json`` and ``.md`` after every size. Rows of an
existing report in ``--out`` whose size this run does not measure are kept, each
with the date of its run (``run``); that run's command and load average are listed
under ``earlier_runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

from retrieval_scale_phases import (  # noqa: E402
    build_phase,
    embedding_chunks,
    now,
    query_phase,
    roster_documents,
    workdir,
)
from synthetic_roster import load_reference  # noqa: E402

TITLE = "retrieval_scale_cpu"
TARGET_P50_MS = 100.0
"""Issue target: one agenda over 100k experts, index loaded from disk, this CPU."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="default 1k 10k 100k")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--k", type=int, default=10, help="candidates per agenda")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument(
        "--bm25-weight",
        type=float,
        default=0.4,
        help="fixed fusion weight (the one tuned on validation for the shipped data)",
    )
    parser.add_argument("--reuse-embeddings", action="store_true")
    parser.add_argument(
        "--encode-limit",
        type=int,
        help="encode only the first N profiles; the others get derived embeddings",
    )
    parser.add_argument(
        "--derive-history",
        action="store_true",
        help="past questions get derived embeddings too (none encoded)",
    )
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks/.cache")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="smoke run: 20 and 40 experts, one training project each, 3 queries",
    )
    parser.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--embeddings", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.queries, args.warmup, args.chunk = 3, 1, 20
    args.sizes = args.sizes or ([20, 40] if args.tiny else [1000, 10000, 100000])
    return args


# ------------------------------------------------------------------------- driver


def machine() -> dict[str, Any]:
    import torch  # noqa: PLC0415

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").open()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gpu": None,
    }


def run_phase(args: argparse.Namespace, phase: str, n: int) -> dict[str, Any]:
    """Run one phase for roster size ``n`` in a fresh process and read its result."""
    result = workdir(args) / f"{phase}_{n}.json"
    command = [sys.executable, __file__, "--phase", phase, "--n", str(n)]
    command += ["--result", str(result), "--embeddings", str(args.embeddings)]
    command += ["--sizes", *map(str, args.sizes), "--seed", str(args.seed)]
    command += ["--k", str(args.k), "--queries", str(args.queries)]
    command += ["--warmup", str(args.warmup), "--chunk", str(args.chunk)]
    command += ["--bm25-weight", str(args.bm25_weight), "--cache", str(args.cache)]
    if args.encode_limit is not None:
        command += ["--encode-limit", str(args.encode_limit)]
    command += ["--derive-history"] if args.derive_history else []
    subprocess.run(command + (["--tiny"] if args.tiny else []), check=True)
    return json.loads(result.read_text())


def flatten(n: int, build: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    row = {"experts": n, **build, **query}
    row["latency_p50_ms"] = query["latency_ms"]["p50"]
    row["latency_p95_ms"] = query["latency_ms"]["p95"]
    row["latency_cpu_p50_ms"] = query["latency_cpu_ms"]["p50"]
    row["scan_p50_ms"] = query["scan_ms"]["p50"]
    row["scan_p95_ms"] = query["scan_ms"]["p95"]
    row["meets_target"] = row["latency_p50_ms"] <= TARGET_P50_MS
    return row


def write(args: argparse.Namespace, report: dict[str, Any]) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{TITLE}.json").write_text(json.dumps(report, indent=2))
    keys = [
        "experts",
        "build_s",
        "profiles_encoded",
        "profile_encode_s",
        "fit_s",
        "save_s",
        "disk_mib",
        "build_peak_rss_mib",
        "load_s",
        "query_peak_rss_mib",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_cpu_p50_ms",
        "scan_p50_ms",
        "scan_p95_ms",
        "meets_target",
        "query_loadavg",
        "run",
    ]
    lines = [
        f"# Retrieval index at roster scale ({report['date']})",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} "
        f"cores, no GPU. Load average during the run: {report['loadavg']}.",
        f"Command: `{report['command']}`",
        "",
    ]
    for run in report.get("earlier_runs", []):
        lines += [
            f"Rows of an earlier run ({run['date']}, load average "
            f"{run['loadavg']}): `{run['command']}`",
            "",
        ]
    lines += [
        f"One agenda at a time, top-{args.k} candidates, exact brute force, index "
        f"loaded from disk; target p50 <= {TARGET_P50_MS:g} ms at 100k experts.",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
    ]
    lines += [
        "| " + " | ".join(str(row.get(k, "")) for k in keys) + " |"
        for row in report["rows"]
    ]
    steps = ["encode", "bm25", "dense", "fuse", "top_k"]
    lines += [
        "",
        "Median time of each step (ms):",
        "",
        "| experts | " + " | ".join(steps) + " |",
        "|---" * (len(steps) + 1) + "|",
    ]
    lines += [
        f"| {row['experts']} | "
        + " | ".join(str(row["step_p50_ms"][s]) for s in steps)
        + " |"
        for row in report["rows"]
    ]
    lines += ["", *report["notes"]]
    (args.out / f"{TITLE}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.phase:
        phase = build_phase if args.phase == "build" else query_phase
        args.result.write_text(json.dumps(phase(args)))
        return
    from expert_kedro.retrieval import DenseRetriever  # noqa: PLC0415

    workdir(args).mkdir(parents=True, exist_ok=True)
    reference = load_reference(ROOT)
    queries = list({json.dumps(a): a for a in reference.query_agendas}.values())
    needed = args.warmup + 2 * args.queries
    if len(queries) < needed:
        raise SystemExit(f"{len(queries)} held-out agendas, {needed} needed.")
    (workdir(args) / "queries.json").write_text(json.dumps(queries[:needed]))
    texts = DenseRetriever.profile_texts(roster_documents(args, max(args.sizes)))
    args.embeddings = embedding_chunks(args, texts)
    report = {
        "title": TITLE,
        "date": now(),
        "command": "python "
        + " ".join([Path(__file__).relative_to(ROOT).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
        "loadavg": list(os.getloadavg()),
        "settings": {
            "k": args.k,
            "queries": args.queries,
            "warmup": args.warmup,
            "seed": args.seed,
            "bm25_weight": args.bm25_weight,
            "fusion": "zscore",
            "search": "exact brute force",
        },
        "target_p50_ms": TARGET_P50_MS,
        "rows": [],
        "notes": [
            "Synthetic rosters recombine the shipped experts' fields (seeded); "
            "queries are real held-out agendas, each seen once (no embedding cache "
            "hit). latency: candidates() end to end, query encoding included "
            "(wall clock; latency_cpu: CPU time of the process, all threads); "
            "scan: BM25 + dot product + fusion + top-K, query already encoded.",
            "profile_encode_s: MiniLM time of the run that encoded the profiles "
            "(cached chunks keep it); extrapolated from the measured throughput when "
            "profiles_encoded < experts (the rest get derived embeddings). Peak RSS "
            "includes Python, torch and the MiniLM model.",
        ],
    }
    earlier = earlier_rows(args.out / f"{TITLE}.json", args.sizes)
    if earlier["runs"]:
        report["earlier_runs"] = earlier["runs"]
    for n in sorted(args.sizes):
        build = run_phase(args, "build", n)
        query = run_phase(args, "query", n)
        new = [r for r in report["rows"] if r["run"] == report["date"]]
        new.append({**flatten(n, build, query), "run": report["date"]})
        report["rows"] = sorted(earlier["rows"] + new, key=lambda r: r["experts"])
        report["loadavg"] = list(os.getloadavg())
        write(args, report)
        print(json.dumps(new[-1]), flush=True)


def earlier_rows(path: Path, sizes: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the report at ``path`` for sizes not in ``sizes``, and their runs.

    A row without ``run`` (written before rows were dated) belongs to its report's
    run. Returns empty lists when there is no report.
    """
    if not path.is_file():
        return {"rows": [], "runs": []}
    old = json.loads(path.read_text())
    rows = [
        {**row, "run": row.get("run", old["date"])}
        for row in old["rows"]
        if row["experts"] not in sizes
    ]
    runs = [
        run
        for run in [
            *old.get("earlier_runs", []),
            {k: old[k] for k in ("date", "command", "loadavg")},
        ]
        if any(row["run"] == run["date"] for row in rows)
    ]
    return {"rows": rows, "runs": runs}


if __name__ == "__main__":
    main()
