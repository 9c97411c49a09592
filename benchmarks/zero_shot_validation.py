"""Rerank design, LLM alone and fused: the base model with and without the adapter.

Scores every validation project's K retrieved candidates with the zero-shot base
model and with the latest ``lora_adapter``, through the evaluation's own code (the
saved ``retrieval_index``, ``RerankRanker.score_candidates`` and ``tune_weight``), and
writes hit@1/MRR at retrieval weights 0 (LLM only), 0.9 and 1 (retriever only).
Run from the project root after ``kedro run --pipelines=training``::

    python benchmarks/zero_shot_validation.py \
        --out benchmarks/results/zero_shot_validation_cpu.json

``kedro run --pipelines=evaluation_llm`` reports the same systems on the test split;
this script is the cheap validation-only comparison for a CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/zero_shot_validation.json")
    parser.add_argument("--agenda-batch", type=int, default=8)
    parser.add_argument(
        "--params",
        nargs="*",
        default=[],
        help="runtime parameters, e.g. recommender.candidate_region=true",
    )
    parser.add_argument("--skip-zero-shot", action="store_true")
    args = parser.parse_args()
    from omegaconf import OmegaConf

    from expert_kedro.identifiers import as_id_list
    from expert_kedro.recommender.adapters import load_scorer
    from expert_kedro.recommender.grounding import Roster
    from expert_kedro.recommender.service import build_ranker
    from expert_kedro.recommender.settings import RecommenderSettings
    from expert_kedro.retrieval import check_no_leakage

    bootstrap_project(Path.cwd())
    runtime = OmegaConf.to_container(OmegaConf.from_dotlist(args.params))
    with KedroSession.create(
        project_path=Path.cwd(), runtime_params=runtime
    ) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        settings = RecommenderSettings.from_params(params["recommender"])
        load = catalog.load
        validation = load("validation_projects")
        hybrid = load("retrieval_index")
        check_no_leakage(
            hybrid, {"validation": validation, "test": load("test_projects")}
        )
        acceptable = [as_id_list(a) for a in validation["acceptable_expert_ids"]]
        results: dict[str, dict] = {}
        systems = [("zero_shot", None), ("fine_tuned", load("lora_adapter"))]
        for label, adapter in systems[args.skip_zero_shot :]:
            started = time.perf_counter()
            scorer = load_scorer(load("base_model"), adapter, settings)
            ranker = build_ranker(
                settings,
                scorer,
                Roster(load("expert_roster")),
                retriever=hybrid,
                train_pairs=load("train_pairs"),
            )
            scored = ranker.score_candidates(
                [list(agenda) for agenda in validation["agenda"]],
                [int(pid) for pid in validation["project_id"]],
                agenda_batch=args.agenda_batch,
            )
            _, grid = ranker.tune_weight(scored, acceptable, [0.0, 0.9, 1.0])
            results[label] = {
                "seconds": round(time.perf_counter() - started, 1),
                "by_retrieval_weight": {
                    str(row["retrieval_weight"]): {
                        "hit@1": round(row["hit@1"], 3),
                        "mrr": round(row["mrr"], 3),
                    }
                    for row in grid.to_dict("records")
                },
            }
            print(label, json.dumps(results[label]), flush=True)
    report = {
        "validation_projects": len(validation),
        "params": args.params,
        "device": str(next(scorer.model.parameters()).device),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        **results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
