"""How deep should the reranker's candidate list be? Recall@K against rerank cost.

A reranker can only recommend what the candidate stage hands it, so its depth ``K``
(``recommender.candidates``) trades the share of acceptable experts it can reach
(recall@K of the candidate stage) against the LLM scoring it costs (one prompt per
candidate). For each dataset this script

1. builds it on CPU with the project's own pipelines, niced (synthetic:
   ``data_processing,retrieval,evaluation``; a Stack Exchange site:
   ``stackexchange_import`` first, under ``--env stackexchange``), so the recall
   figures are the ``evaluation_metrics`` of the run, bootstrap CIs included;
2. reads recall@K of the hybrid and of the hybrid + activity prior (the candidate
   stage) from it, with popularity for reference;
3. states the rerank cost per candidate recorded by the throughput benchmarks
   (``benchmarks/results/inference_throughput_packed*.json``, CPU and H200), and
   optionally (``--latency``) measures the marginal cost of one candidate here:
   the base model (``load_scorer`` without adapter: a merged LoRA adapter costs the
   same) scores test agendas' candidates at a small and a large ``K`` through the
   inference ranker (``build_ranker``); the slope is the cost per candidate, which
   gives the projected latency per agenda of every ``K``.

Writes a markdown report (and its JSON) under ``benchmarks/results/``::

    python benchmarks/candidate_depth.py --datasets synthetic dba history android \\
        --latency synthetic dba --out benchmarks/results/candidate_depth_cpu.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SITES = ("dba", "history", "android")
SYSTEMS = ("popularity", "hybrid", "hybrid+prior")
DEPTHS = (5, 10, 20, 50)


def _kedro_args(dataset: str) -> tuple[str | None, dict[str, Any]]:
    if dataset == "synthetic":
        return None, {}
    if dataset not in SITES:
        raise SystemExit(f"Unknown dataset {dataset!r}; use synthetic or {SITES}.")
    return "stackexchange", {"stackexchange": {"site": dataset}}


def build(dataset: str, n_boot: int) -> float:
    """Run the dataset's pipelines (niced) and return their wall seconds.

    A site's import is its own run: the other pipelines read the import's latest
    saved version.
    """
    env, _ = _kedro_args(dataset)
    runs = [
        (
            "data_processing,retrieval,evaluation",
            f"evaluation.bootstrap.n_boot={n_boot}",
        )
    ]
    if env:
        site = f"stackexchange.site={dataset}"
        runs = [("stackexchange_import", site)] + [
            (pipelines, f"{site},{params}") for pipelines, params in runs
        ]
    started = time.perf_counter()
    for pipelines, params in runs:
        # Niced once: a script already started under nice passes its niceness on.
        nice = ["nice", "-n", "10"] if os.nice(0) == 0 else []
        command = [*nice, sys.executable, "-m", "kedro", "run"]
        command += ["--env", env] if env else []
        command += [f"--pipelines={pipelines}", "--params", params]
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603 - fixed arguments
    return time.perf_counter() - started


def _session(dataset: str):
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    env, runtime = _kedro_args(dataset)
    bootstrap_project(ROOT)
    return KedroSession.create(project_path=ROOT, env=env, runtime_params=runtime)


def recall_of(dataset: str) -> dict[str, Any]:
    """Recall@K and ranking metrics of the retrievers, from ``evaluation_metrics``."""
    with _session(dataset) as session:
        metrics = session.load_context().catalog.load("evaluation_metrics")
    systems = {
        system: metrics["systems"][system]["full"]
        for system in SYSTEMS
        if system in metrics["systems"]
    }
    return {
        "n_test": metrics["n_projects"]["test"],
        "roster_size": metrics["roster_size"],
        "bm25_weight": metrics["hybrid"].get("bm25_weight"),
        "prior": metrics["hybrid"].get("prior", {}),
        "systems": systems,
        "evaluated_at": metrics["date"],
    }


def _time_scoring(ranker, agendas, cases) -> tuple[float, int]:
    """Seconds to score every agenda that fits the prompt budget, and how many did."""
    from expert_kedro.scoring.prompt_ids import AgendaTooLongError  # noqa: PLC0415

    seconds, scored = 0.0, 0
    for agenda, case in zip(agendas, cases, strict=True):
        started = time.perf_counter()
        try:
            ranker.score_candidates([agenda], [case])
        except AgendaTooLongError:
            continue
        seconds += time.perf_counter() - started
        scored += 1
    return seconds, scored


def latency_of(dataset: str, n_agendas: int, depths: tuple[int, int]) -> dict:
    """Marginal CPU cost of one more rerank candidate, on ``n_agendas`` test agendas."""
    import torch  # noqa: PLC0415

    from expert_kedro.recommender.adapters import load_scorer  # noqa: PLC0415
    from expert_kedro.recommender.grounding import Roster  # noqa: PLC0415
    from expert_kedro.recommender.service import build_ranker  # noqa: PLC0415
    from expert_kedro.recommender.settings import RecommenderSettings  # noqa: PLC0415

    with _session(dataset) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        loaded = {
            name: catalog.load(name)
            for name in ("base_model", "expert_roster", "train_pairs")
        }
        index = catalog.load("retrieval_index")
        test = catalog.load("test_projects").head(n_agendas)
    settings = RecommenderSettings.from_params(params["recommender"])
    scorer = load_scorer(loaded["base_model"], None, settings)
    roster = Roster(loaded["expert_roster"])
    agendas = [list(agenda) for agenda in test["agenda"]]
    cases = [str(project) for project in test["project_id"]]
    timings = {}
    for k in (depths[0], *depths):  # the first pass warms the model up
        ranker = build_ranker(
            dataclasses.replace(settings, candidates=k),
            scorer,
            roster,
            retriever=index,
            train_pairs=loaded["train_pairs"],
        )
        timings[k] = _time_scoring(ranker, agendas, cases)
    small_n, large_n = timings[depths[0]][1], timings[depths[1]][1]
    per_agenda = {k: s / max(n, 1) for k, (s, n) in timings.items()}
    slope = (per_agenda[depths[1]] - per_agenda[depths[0]]) / (depths[1] - depths[0])
    return {
        "agendas": n_agendas,
        "agendas_scored": min(small_n, large_n),
        "depths_timed": list(depths),
        "seconds_per_agenda": {str(k): round(v, 3) for k, v in per_agenda.items()},
        "seconds_per_candidate": round(slope, 4),
        "threads": torch.get_num_threads(),
        "recommender_candidates": settings.candidates,
        "history_questions": settings.history_questions,
    }


THROUGHPUT_RESULTS = {
    "CPU (2 cores)": "benchmarks/results/inference_throughput_packed_cpu.json",
    "H200": "benchmarks/results/inference_throughput_packed.json",
}


def recorded_costs() -> dict[str, dict[str, Any]]:
    """Rerank seconds per candidate from the recorded throughput benchmarks.

    The fastest SmolLM2-135M rerank row of each file (agendas per second at its
    ``candidates_scored``) gives ``1 / (agendas_per_s * K)``: an upper bound of the
    marginal cost, since it also carries each agenda's retrieval and prompt.
    """
    costs = {}
    for label, path in THROUGHPUT_RESULTS.items():
        rows = [
            row
            for row in json.loads((ROOT / path).read_text(encoding="utf-8"))
            if row["model"] == "SmolLM2-135M" and row["mode"] == "rerank"
        ]
        best = max(rows, key=lambda row: row["agendas_per_s"])
        costs[label] = {
            "seconds_per_candidate": 1.0
            / (best["agendas_per_s"] * best["candidates_scored"]),
            "source": f"{path} ({best['variant']}, {best['lever']}, "
            f"{best['agendas_per_s']:.3g} agendas/s at K={best['candidates_scored']})",
        }
    return costs


def _cell(entry: dict | None) -> str:
    if not entry:
        return "–"
    return f"{entry['value']:.3f} [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"


def render(results: dict[str, Any], command: str) -> str:
    """The markdown report."""
    lines = [
        "# Candidate depth: recall@K of the candidate stage vs rerank cost (CPU)",
        "",
        f"Date: 2026-12-03. Machine: {results['machine']}. Command:",
        "",
        f"    {command}",
        "",
        "Recall@K = share of a test project's acceptable experts in the top K (full",
        "agendas, value [95% bootstrap CI over projects], from the run's",
        "`evaluation_metrics`). `hybrid+prior` is the candidate stage the reranker",
        "receives (the prior weight tuned on validation; 0 = plain hybrid).",
        "",
    ]
    header = "| dataset | system | " + " | ".join(f"recall@{k}" for k in DEPTHS)
    lines += [header + " | MRR |", "|---|---|" + "---|" * (len(DEPTHS) + 1)]
    for dataset, data in results["datasets"].items():
        for system, entry in data["systems"].items():
            cells = " | ".join(_cell(entry.get(f"recall@{k}")) for k in DEPTHS)
            lines.append(f"| {dataset} | {system} | {cells} | {_cell(entry['mrr'])} |")
    lines += [
        "",
        "Build s: wall seconds of the dataset's pipelines in this run (– when built",
        "by an earlier run of this script and read back with --skip-build).",
        "",
        "| dataset | test projects | roster | bm25 weight | prior weight "
        "(source) | build s |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, data in results["datasets"].items():
        prior = data["prior"]
        lines.append(
            f"| {dataset} | {data['n_test']} | {data['roster_size']} | "
            f"{data['bm25_weight']} | {prior.get('prior_weight')} "
            f"({prior.get('source', '?')}) | {data.get('build_seconds') or '–'} |"
        )
    costs = results.get("recorded_costs", {})
    if costs:
        lines += [
            "",
            "LLM rerank scoring per agenda at each K (K x seconds per candidate, "
            "SmolLM2-135M, from the recorded throughput benchmarks):",
            "",
            "| hardware | s per candidate | "
            + " | ".join(f"K={k}" for k in DEPTHS)
            + " | source |",
            "|---|---|" + "---|" * (len(DEPTHS) + 1),
        ]
        for label, cost in costs.items():
            per = cost["seconds_per_candidate"]
            cells = " | ".join(f"{per * k:.3g} s" for k in DEPTHS)
            lines.append(f"| {label} | {per:.3g} | {cells} | {cost['source']} |")
    for dataset, lat in results.get("latency", {}).items():
        per = lat["seconds_per_candidate"]
        lines += [
            "",
            f"Rerank cost on {dataset} (base model, CPU, {lat['threads']} threads, "
            f"{lat['agendas_scored']} of {lat['agendas']} test agendas within the "
            f"prompt budget, history_questions={lat['history_questions']}): seconds "
            f"per agenda {lat['seconds_per_agenda']} at K = {lat['depths_timed']}; "
            f"marginal cost {per:.3f} s per candidate, so K = 5/10/20/50 costs about "
            + "/".join(f"{per * k:.1f}" for k in DEPTHS)
            + " s of LLM scoring per agenda.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", *SITES])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--latency", nargs="*", default=[])
    parser.add_argument("--latency-agendas", type=int, default=4)
    parser.add_argument("--latency-depths", nargs=2, type=int, default=[5, 20])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cores = os.cpu_count()
    results: dict[str, Any] = {
        "machine": f"{platform.node()}, {cores}-core CPU shared, no GPU",
        "datasets": {},
        "latency": {},
        "recorded_costs": recorded_costs(),
    }
    for dataset in args.datasets:
        seconds = None if args.skip_build else round(build(dataset, args.n_boot), 1)
        results["datasets"][dataset] = {**recall_of(dataset), "build_seconds": seconds}
    for dataset in args.latency:
        results["latency"][dataset] = latency_of(
            dataset, args.latency_agendas, tuple(args.latency_depths)
        )
    command = "python benchmarks/candidate_depth.py " + " ".join(sys.argv[1:])
    report = render(results, command)
    sys.stdout.write(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
        args.out.with_suffix(".json").write_text(
            json.dumps(results, indent=1, default=str), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
