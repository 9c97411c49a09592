"""CPU cost of the cross-encoder peer: training steps and candidate scoring, timed.

On a machine where a full ``evaluation_llm`` run is out of reach, this times the
two things the ``cross_encoder`` system costs, through the project's own code on
the project's own data (``kedro run --pipelines=training
--to-nodes=build_rerank_pairs_node`` first):

1. ``train_cross_encoder`` on a seeded sample of ``rerank_train_pairs``
   (``cross_encoder.max_train_pairs`` = ``--train-pairs``), at the base
   ``cross_encoder`` settings otherwise;
2. the rerank ranker with that model as scorer (``build_ranker`` as the
   evaluation node builds it) scoring the first ``--score-projects`` validation
   projects' ``recommender.candidates`` candidates.

Both are extrapolated linearly to all pairs (one epoch) and to the evaluation's
validation + test (full and partial) agendas. The load average is recorded: on a
shared machine the times are upper bounds. Run from the project root::

    python benchmarks/cross_encoder_cpu.py --train-pairs 64 --score-projects 8 \\
        --out benchmarks/results/cross_encoder_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.cross_encoder import (
    CrossEncoderScorer,
    CrossEncoderSettings,
    train_cross_encoder,
)
from expert_kedro.identifiers import as_id
from expert_kedro.pipelines.evaluation.nodes import build_partial_test_projects
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker
from expert_kedro.recommender.settings import RecommenderSettings

INPUTS = (
    "rerank_train_pairs",
    "validation_projects",
    "test_projects",
    "expert_roster",
    "train_pairs",
    "retrieval_index",
)


def _load() -> tuple[dict[str, Any], dict[str, Any]]:
    bootstrap_project(Path.cwd())
    with KedroSession.create(project_path=Path.cwd()) as session:
        context = session.load_context()
        data = {name: context.catalog.load(name) for name in INPUTS}
        return data, dict(context.params)


def _time_training(data: dict[str, Any], params: dict[str, Any], n: int):
    settings = CrossEncoderSettings.from_params(
        {**params["cross_encoder"], "max_train_pairs": n, "logging_steps": 1}
    )
    trained = train_cross_encoder(data["rerank_train_pairs"], settings)
    seconds = trained.record["train_seconds"]
    full = len(data["rerank_train_pairs"]) * settings.epochs
    return trained, {
        "pairs": trained.record["train_pairs"],
        "steps": trained.record["steps"],
        "seconds": seconds,
        "seconds_per_pair": round(seconds / trained.record["train_pairs"], 4),
        "all_pairs": len(data["rerank_train_pairs"]),
        "projected_seconds_all_pairs": round(
            seconds / trained.record["train_pairs"] * full, 1
        ),
        "loss_history": trained.record["loss_history"],
        "settings": trained.record["settings"],
    }


def _time_scoring(data, params, trained, n_projects: int, n_agendas: int):
    settings = RecommenderSettings.from_params(params["recommender"])
    scorer = CrossEncoderScorer(
        trained,
        batch_size=CrossEncoderSettings.from_params(params["cross_encoder"]).batch_size,
    )
    ranker = build_ranker(
        settings,
        scorer,
        Roster(data["expert_roster"]),
        retriever=data["retrieval_index"],
        train_pairs=data["train_pairs"],
        name="cross_encoder",
    )
    projects = data["validation_projects"].head(n_projects)
    started = time.perf_counter()
    ranker.score_candidates(
        [list(a) for a in projects["agenda"]],
        [as_id(p) for p in projects["project_id"]],
    )
    seconds = time.perf_counter() - started
    return {
        "agendas": len(projects),
        "candidates_per_agenda": settings.candidates,
        "seconds": round(seconds, 2),
        "seconds_per_agenda": round(seconds / len(projects), 3),
        "evaluation_agendas": n_agendas,
        "projected_seconds_evaluation": round(seconds / len(projects) * n_agendas, 1),
        "prompt_fitting": scorer.fitting.summary(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-pairs", type=int, default=64)
    parser.add_argument("--score-projects", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    load_before = os.getloadavg()
    data, params = _load()
    partial = len(
        build_partial_test_projects(
            data["test_projects"], params["evaluation"]["partial_agendas"]
        )
    )
    n_agendas = len(data["validation_projects"]) + len(data["test_projects"]) + partial
    trained, training = _time_training(data, params, args.train_pairs)
    scoring = _time_scoring(data, params, trained, args.score_projects, n_agendas)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "training": training,
        "scoring": scoring,
    }
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "training"}, indent=2))  # noqa: T201
    print(json.dumps({k: v for k, v in training.items() if k != "loss_history"}))  # noqa: T201


if __name__ == "__main__":
    main()
