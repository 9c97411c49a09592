"""What the recent-activity term adds to the candidate stage, side by side.

For each dataset this script loads what its ``retrieval`` and ``data_processing``
runs saved (the tuned ``retrieval_index``, ``validation_projects`` and
``test_projects``, through the catalog) and ranks the test split's full agendas
with:

* ``hybrid+prior without recency``: the same index with the recency weight set to
  0 (the candidate stage before ``retrieval.recency``);
* ``hybrid+prior``: the candidate stage as tuned (window and weight from the
  index's own validation tuning);
* ``recent_activity`` and ``popularity``: the two activity baselines.

Every agenda is scored as of its project's time, as the evaluation pipeline does.
The gain is the paired per-project MRR difference, with a bootstrap 95% CI over
test projects. Run after ``data_processing`` and ``retrieval`` of each dataset (the
synthetic export in ``base``, a site in ``--env stackexchange``)::

    python benchmarks/recency_ablation.py --datasets synthetic dba history android \\
        --out benchmarks/results/recency_ablation_cpu.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
from project_data import load_saved
from run_record import provenance, run_record, write_results

N_BOOT, SEED = 2000, 2026
COMMAND = "python benchmarks/recency_ablation.py --datasets {datasets} --out {out}"
WITHOUT = "hybrid+prior without recency"


def _load(dataset: str) -> dict[str, Any]:
    names = ("retrieval_index", "validation_projects", "test_projects")
    return load_saved(dataset, names)[0]


def systems(index: Any) -> dict[str, Any]:
    """The compared rankers, all from one index."""
    from expert_kedro.retrieval import PRIOR_SYSTEM, RECENT_SYSTEM  # noqa: PLC0415

    without = index.with_fusion(index.bm25_weight, index.tuning, index.prior_weight)
    rankers = {
        WITHOUT: without.hybrid_with_prior,
        PRIOR_SYSTEM: index.hybrid_with_prior,
        "popularity": index.popularity,
    }
    if RECENT_SYSTEM in index.retrievers():
        rankers[RECENT_SYSTEM] = index.retrievers()[RECENT_SYSTEM]
    return rankers


def compare(index: Any, projects: pd.DataFrame) -> dict[str, Any]:
    """Test metrics of every system and the paired MRR gain of the recency term."""
    from expert_kedro.evaluation.metrics import (  # noqa: PLC0415
        bootstrap_summary,
        per_project_metrics,
    )
    from expert_kedro.evaluation.rankings import rank_with_retriever  # noqa: PLC0415
    from expert_kedro.identifiers import as_id_list  # noqa: PLC0415

    acceptable = [as_id_list(ids) for ids in projects["acceptable_expert_ids"]]
    tables = {}
    for name, ranker in systems(index).items():
        rankings = rank_with_retriever(ranker, projects, split="test", variant="full")
        ordered = rankings.sort_values(["project_id", "rank"])
        lists = {
            pid: as_id_list(group["expert_id"])
            for pid, group in ordered.groupby("project_id", sort=False)
        }
        ranked = [lists[pid] for pid in as_id_list(projects["project_id"])]
        tables[name] = per_project_metrics(ranked, acceptable)
    gain = (tables["hybrid+prior"]["mrr"] - tables[WITHOUT]["mrr"]).to_numpy()
    ci = bootstrap_summary(pd.DataFrame({"gain": gain}), N_BOOT, SEED)["gain"]
    return {
        "n_test": len(projects),
        "recency": {
            key: index.tuning.get("recency", {}).get(key)
            for key in ("time_from", "window", "weight", "source")
        },
        "test": {
            name: {m: float(v) for m, v in table.mean().items()}
            for name, table in tables.items()
        },
        "mrr_gain": float(gain.mean()),
        "mrr_gain_ci": [ci["ci_low"], ci["ci_high"]],
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# Recent activity in the candidate stage",
        "",
        provenance(results) + " Test split, full "
        "agendas; window and weight as the index tuned them on validation.",
        "",
        "| Dataset | Test projects | Recency (window, weight) | System | Hit@1 | "
        "Hit@5 | MRR | nDCG@5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    gains = []
    for dataset, result in results["datasets"].items():
        recency = result["recency"]
        tuned = (
            f"{recency['time_from']}: last {recency['window']}, w={recency['weight']}"
            if recency["window"]
            else "off"
        )
        for name, metrics in result["test"].items():
            lines.append(
                f"| {dataset} | {result['n_test']} | {tuned} | {name} | "
                f"{metrics['hit@1']:.3f} | {metrics['hit@5']:.3f} | "
                f"{metrics['mrr']:.3f} | {metrics['ndcg@5']:.3f} |"
            )
        low, high = result["mrr_gain_ci"]
        gains.append(
            f"- {dataset}: {result['mrr_gain']:+.3f} [{low:+.3f}, {high:+.3f}]"
        )
    lines += [
        "",
        f"Test MRR of `hybrid+prior` minus `{WITHOUT}`, paired bootstrap "
        f"({N_BOOT} resamples):",
        "",
    ]
    return "\n".join(lines + gains) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["synthetic", "dba", "history", "android"]
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    datasets = {}
    for dataset in args.datasets:
        data = _load(dataset)
        datasets[dataset] = compare(data["retrieval_index"], data["test_projects"])
    results = {
        **run_record(COMMAND.format(datasets=" ".join(args.datasets), out=args.out)),
        "datasets": datasets,
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
