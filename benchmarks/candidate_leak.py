"""How differently does the candidate stage rank training and held-out projects?

The rerank examples draw a training agenda's hard negatives from the candidate
stage's list for that agenda. The saved retrieval index was fit on the training
pairs: the agenda sits in its answerer's document and its booking in the activity
prior. This script ranks every training agenda (full agendas, as of its project's
time, as ``build_rerank_pairs`` does) with the saved index and with cross-fitted
indexes (``rerank_pairs.cross_fit_folds``: each fold ranked by an index fit without
it), and the validation agendas with the saved index, and reports where the first
acceptable expert lands: MRR, hit@1, the share in the top ``K`` candidates, the
median rank. Cross-fitting works when its training column looks like validation's::

    python benchmarks/candidate_leak.py --datasets synthetic dba history android \\
        --folds 5 --out benchmarks/results/candidate_leak_cpu.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from project_data import load_saved
from run_record import provenance, run_record, write_results

NAMES = ("retrieval_index", "train_pairs", "validation_projects", "expert_roster")
NAMES += ("clean_matches",)
COMMAND = "python benchmarks/candidate_leak.py --datasets {} --folds {} --out {}"


def first_hit_ranks(scores: np.ndarray, expert_ids, acceptable) -> np.ndarray:
    """1-based rank of each row's best-ranked acceptable expert."""
    from expert_kedro.identifiers import as_id  # noqa: PLC0415

    ids = np.asarray([as_id(e) for e in expert_ids])
    ranks = []
    for row, wanted in zip(scores, acceptable, strict=True):
        order = ids[np.argsort(-row, kind="stable")]
        ranks.append(1 + int(np.flatnonzero(np.isin(order, list(wanted)))[0]))
    return np.asarray(ranks)


def summary(ranks: np.ndarray, k: int) -> dict[str, float]:
    """MRR, hit@1, share within the top ``k``, median rank."""
    return {
        "n": len(ranks),
        "mrr": float(np.mean(1.0 / ranks)),
        "hit@1": float(np.mean(ranks == 1)),
        f"in top {k}": float(np.mean(ranks <= k)),
        "median rank": float(np.median(ranks)),
    }


def dataset_result(dataset: str, folds: int) -> dict[str, Any]:
    """The three columns of one dataset."""
    from expert_kedro.identifiers import as_id, as_id_list  # noqa: PLC0415
    from expert_kedro.retrieval import (  # noqa: PLC0415
        CrossFittedScorer,
        cross_fitted_scorer,
        retriever_times,
    )

    data, params = load_saved(dataset, NAMES)
    index, pairs = data["retrieval_index"], data["train_pairs"]
    k = int(params["recommender"]["candidates"])
    train = pairs.groupby("project_id", sort=True).agg(
        agenda=("agenda", "first"), expert_id=("expert_id", list)
    )
    ids = [as_id(p) for p in train.index]
    agendas = [list(a) for a in train["agenda"]]
    acceptable = [set(as_id_list(e)) for e in train["expert_id"]]
    times = retriever_times(index, train.reset_index()[["project_id"]])
    crossed = cross_fitted_scorer(
        index,
        data["expert_roster"],
        pairs,
        data["clean_matches"],
        folds=folds,
        seed=int(params["rerank_pairs"]["seed"]),
    )
    validation = data["validation_projects"]
    rows = {
        "training, saved index": CrossFittedScorer(index, {}).score_all(
            agendas, ids, times
        ),
        f"training, cross-fitted ({folds} folds)": crossed.score_all(
            agendas, ids, times
        ),
    }
    result = {
        name: summary(first_hit_ranks(s, index.expert_ids, acceptable), k)
        for name, s in rows.items()
    }
    val_scores = index.score_all(
        [list(a) for a in validation["agenda"]],
        retriever_times(index, validation.drop(columns=["agenda"])),
    )
    val_acceptable = [set(as_id_list(a)) for a in validation["acceptable_expert_ids"]]
    result["validation, saved index"] = summary(
        first_hit_ranks(val_scores, index.expert_ids, val_acceptable), k
    )
    return {"k": k, "rows": result}


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# Where the candidate stage ranks a project's answerer: training vs held out",
        "",
        provenance(results) + " Full agendas, "
        "each as of its project's time; K = the dataset's `recommender.candidates`.",
        "",
        "| Dataset | Agendas, ranked by | Projects | MRR | Hit@1 | In top K "
        "| Median rank |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset, result in results["datasets"].items():
        top = f"in top {result['k']}"
        for name, row in result["rows"].items():
            lines.append(
                f"| {dataset} (K={result['k']}) | {name} | {row['n']} | "
                f"{row['mrr']:.3f} | {row['hit@1']:.3f} | {row[top]:.3f} | "
                f"{row['median rank']:g} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["dba", "history", "android"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        **run_record(COMMAND.format(" ".join(args.datasets), args.folds, args.out)),
        "datasets": {d: dataset_result(d, args.folds) for d in args.datasets},
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
