"""Rerank design, LLM alone and fused: the base model with and without the adapter.

Scores every validation project's K retrieved candidates with the zero-shot base
model and with the latest ``lora_adapter``, through the evaluation's own code
(hybrid retriever, ``RerankRanker.candidate_tables``, ``tune_retrieval_weight``), and
writes hit@1/MRR at retrieval weights 0 (LLM only), 0.9 and 1 (retriever only).
Run from the project root after ``kedro run --pipeline=training``::

    python benchmarks/zero_shot_validation.py \
        --out benchmarks/results/zero_shot_validation_cpu.json

``kedro run --pipeline=evaluation_llm`` reports the same systems on the test split;
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

    from expert_kedro.evaluation.llm_systems import (
        rerank_candidate_tables,
    )
    from expert_kedro.identifiers import as_id_list
    from expert_kedro.pipelines.evaluation.nodes import (
        build_index_documents,
        fit_bm25_retriever,
        fit_dense_retriever,
        tune_hybrid_retriever,
    )
    from expert_kedro.recommender.grounding import Roster
    from expert_kedro.recommender.rerank import tune_retrieval_weight
    from expert_kedro.recommender.service import build_ranker, load_scorer
    from expert_kedro.recommender.settings import RecommenderSettings

    bootstrap_project(Path.cwd())
    runtime = OmegaConf.to_container(OmegaConf.from_dotlist(args.params))
    with KedroSession.create(
        project_path=Path.cwd(), runtime_params=runtime
    ) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        settings = RecommenderSettings.from_params(params["recommender"])
        ev = params["evaluation"]
        load = catalog.load
        docs = build_index_documents(
            load("expert_roster"),
            load("train_pairs"),
            load("clean_matches"),
            load("validation_projects"),
            load("test_projects"),
            load("partial_test_projects"),
            ev,
        )
        validation = load("validation_projects")
        hybrid, _ = tune_hybrid_retriever(
            fit_bm25_retriever(docs, ev["bm25"]),
            fit_dense_retriever(docs, ev["dense"]),
            validation,
            ev["hybrid"],
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
            tables = rerank_candidate_tables(ranker, validation, args.agenda_batch)
            _, grid = tune_retrieval_weight(
                [table for table, _ in tables],
                [tail for _, tail in tables],
                acceptable,
                [0.0, 0.9, 1.0],
            )
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
