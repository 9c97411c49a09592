"""Does a text reranker use the ``Activity:`` line? The cross-encoder peer, A/B.

``recommender.candidate_activity`` adds each candidate's recent bookings to the
rerank prompt (:mod:`expert_kedro.training_data.activity`). Judging it on the
fine-tuned LLM needs the GPU recipe; this script asks the same question of the
cross-encoder peer on CPU, through the project's own code and one site's saved
data (``data_processing`` and ``retrieval`` of ``--env stackexchange``):

1. the rerank pairs are built twice by the ``build_rerank_pairs`` node, with the
   site's parameters, without the line and with a window of ``--window``: the same
   queries, candidates and seeded negatives, only the candidate block differs;
2. a MiniLM cross-encoder is trained on each (``train_cross_encoder``, the
   ``cross_encoder`` settings of the site, the same seed and sample);
3. each ranks the validation and test projects through
   ``rank_cross_encoder_projects`` (fusion weight tuned on validation), and the
   candidate stage (``hybrid+prior``) ranks the same test projects.

Reported: test hit@1, hit@5 and MRR (full agendas) of the stage and both
cross-encoders, the tuned weights, and paired bootstrap CIs of the MRR differences
(line minus no line, line minus stage)::

    python benchmarks/activity_line.py --site android --window 50 \\
        --out benchmarks/results/activity_line_android_cpu.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from project_data import load_saved
from run_record import provenance, run_record, write_results

N_BOOT, SEED = 2000, 2026
NAMES = ("retrieval_index", "expert_roster", "train_pairs", "augmented_train_pairs")
NAMES += ("validation_pairs", "validation_projects", "test_projects", "clean_matches")


def _load(site: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return load_saved(site, NAMES)


def _ranked_lists(rankings: pd.DataFrame, projects: pd.DataFrame) -> list[list[str]]:
    from expert_kedro.identifiers import as_id_list  # noqa: PLC0415

    rows = rankings[(rankings["split"] == "test") & (rankings["variant"] == "full")]
    ordered = rows.sort_values(["project_id", "rank"])
    lists = {
        pid: as_id_list(group["expert_id"])
        for pid, group in ordered.groupby("project_id", sort=False)
    }
    return [lists[pid] for pid in as_id_list(projects["project_id"])]


def _variant(data: dict[str, Any], params: dict[str, Any], window: int) -> dict:
    """Pairs, training and test rankings of the cross-encoder with one layout."""
    from expert_kedro.pipelines.evaluation_llm.nodes import (  # noqa: PLC0415
        rank_cross_encoder_projects,
        train_cross_encoder_model,
    )
    from expert_kedro.pipelines.rerank_pairs.nodes import (  # noqa: PLC0415
        build_rerank_pairs,
    )

    recommender = {**params["recommender"], "candidate_activity": window}
    pairs, _, pairs_report = build_rerank_pairs(
        data["train_pairs"],
        data["augmented_train_pairs"],
        data["validation_pairs"],
        data["validation_projects"],
        data["expert_roster"],
        data["clean_matches"],
        data["retrieval_index"],
        recommender,
        params["rerank_pairs"],
    )
    started = time.perf_counter()
    model = train_cross_encoder_model(pairs, params["cross_encoder"])
    trained = time.perf_counter() - started
    test = data["test_projects"]
    rankings, report = rank_cross_encoder_projects(
        data["retrieval_index"],
        data["validation_projects"],
        test,
        test.iloc[:0],
        data["expert_roster"],
        data["train_pairs"],
        model,
        recommender,
        params["cross_encoder"],
    )
    return {
        "lists": _ranked_lists(rankings, test),
        "train_rows": pairs_report["train"]["rows"],
        "candidate_activity": pairs_report["candidate_activity"],
        "train_seconds": round(trained, 1),
        "score_seconds": round(time.perf_counter() - started - trained, 1),
        "tuned_weight": report.get("tuned_retrieval_weight"),
        "training": {
            k: model.record[k]
            for k in ("train_pairs", "positive_pairs", "steps", "mean_loss")
        },
    }


def compare(data: dict[str, Any], params: dict[str, Any], window: int) -> dict:
    """Test metrics of the stage and both cross-encoders, paired differences."""
    from expert_kedro.evaluation.metrics import (  # noqa: PLC0415
        bootstrap_summary,
        per_project_metrics,
    )
    from expert_kedro.evaluation.rankings import rank_with_retriever  # noqa: PLC0415
    from expert_kedro.identifiers import as_id_list  # noqa: PLC0415

    test = data["test_projects"]
    acceptable = [as_id_list(ids) for ids in test["acceptable_expert_ids"]]
    stage = rank_with_retriever(
        data["retrieval_index"].hybrid_with_prior, test, split="test", variant="full"
    )
    runs = {
        "without": _variant(data, params, 0),
        "with": _variant(data, params, window),
    }
    tables = {
        "hybrid+prior": per_project_metrics(_ranked_lists(stage, test), acceptable)
    }
    for name, run in runs.items():
        tables[f"cross_encoder {name} line"] = per_project_metrics(
            run.pop("lists"), acceptable
        )
    mrr = {name: table["mrr"].to_numpy() for name, table in tables.items()}
    gains = pd.DataFrame(
        {
            "line minus no line": mrr["cross_encoder with line"]
            - mrr["cross_encoder without line"],
            "line minus stage": mrr["cross_encoder with line"] - mrr["hybrid+prior"],
        }
    )
    summary = bootstrap_summary(gains, N_BOOT, SEED)
    return {
        "n_test": len(test),
        "window": window,
        "runs": runs,
        "test": {
            name: {m: float(v) for m, v in table.mean().items()}
            for name, table in tables.items()
        },
        "gains": {
            name: [float(gains[name].mean()), s["ci_low"], s["ci_high"]]
            for name, s in summary.items()
        },
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        f"# The Activity line on the cross-encoder peer ({results['site']})",
        "",
        provenance(results) + " Test split "
        f"({results['n_test']} projects), full agendas.",
        "",
        "| System | Hit@1 | Hit@5 | MRR |",
        "|---|---|---|---|",
    ]
    for name, metrics in results["test"].items():
        lines.append(
            f"| {name} | {metrics['hit@1']:.3f} | {metrics['hit@5']:.3f} | "
            f"{metrics['mrr']:.3f} |"
        )
    lines += ["", "| Cross-encoder | Train rows | Train s | Score s | Tuned weight |"]
    lines.append("|---|---|---|---|---|")
    for name, run in results["runs"].items():
        lines.append(
            f"| {name} line (candidate_activity={run['candidate_activity']}) | "
            f"{run['train_rows']} | {run['train_seconds']} | {run['score_seconds']} "
            f"| {run['tuned_weight']} |"
        )
    lines += ["", f"Test MRR differences, paired bootstrap ({N_BOOT} resamples):", ""]
    for name, (mean, low, high) in results["gains"].items():
        lines.append(f"- {name}: {mean:+.3f} [{low:+.3f}, {high:+.3f}]")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument(
        "--max-train-pairs",
        type=int,
        default=None,
        help="cross_encoder.max_train_pairs (default: the site's setting; 0: all)",
    )
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data, params = _load(args.site)
    overrides = {"max_train_pairs": args.max_train_pairs, "max_length": args.max_length}
    for key, value in overrides.items():
        if value is not None:
            params["cross_encoder"][key] = value or None
    results = {
        "site": args.site,
        **run_record("python benchmarks/activity_line.py " + " ".join(sys.argv[1:])),
        "cross_encoder": params["cross_encoder"],
        **compare(data, params, args.window),
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
