"""Trained on the training projects, can a model of every signal beat the stage?

``benchmarks/stacked_signals.py`` fits a linear model on the validation projects
only (29 to 125 of them). A learned reranker trains on the training projects
(4 to 7 times as many) and may combine signals non-linearly. This script does the
same without a language model: features for every (project, roster expert) of the
training projects, z-scored over the roster per project:

* the candidate stage's score from **cross-fitted** indexes
  (``retrieval.cross_fitted_scorer``, as ``rerank_pairs.cross_fit_folds`` ranks
  training agendas: the saved index holds each training agenda in its answerer's
  document and would give its own answer away); validation and test projects are
  scored by the saved index, as the evaluation does;
* every signal of ``benchmarks/site_signals.py``, each as of the question and
  never counting the question itself.

Two models: the listwise linear model of ``stacked_signals`` and a gradient-boosted
tree classifier (scikit-learn ``HistGradientBoostingClassifier``, rows weighted so
that every project weighs the same), each with its setting chosen on validation
MRR; then the test projects, against the stage, with paired bootstrap CIs::

    python benchmarks/stacked_train.py --sites dba history android \\
        --out benchmarks/results/stacked_train_cpu.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from candidate_signals import _z
from project_data import load_saved
from run_record import provenance, run_record, write_results
from stacked_signals import (
    C_GRID,
    GROUPS,
    PARTS,
    ListwiseModel,
    _mrr,
    _paired,
    _rank,
    site_inputs,
    whole_roster,
)

FOLDS = 5
SIGNALS = [
    n for members in GROUPS.values() for n in members if n not in ("stage", *PARTS)
]
TREES = (
    {"max_depth": 3, "learning_rate": 0.05},
    {"max_depth": 5, "learning_rate": 0.1},
)
COMMAND = "python benchmarks/stacked_train.py --sites {sites} --out {out}"


def training_matrices(
    site_name: str, roster: list[str], signals: dict[str, Any]
) -> tuple[list, list]:
    """Per training project: ``[roster, 1 + signals]`` z-scores, and labels.

    ``signals``: the site's signals by name, as :func:`stacked_signals.site_inputs`
    built them.
    """
    from expert_kedro.identifiers import as_id, as_id_list  # noqa: PLC0415
    from expert_kedro.retrieval import (  # noqa: PLC0415
        cross_fitted_scorer,
        retriever_times,
    )

    names = ("retrieval_index", "train_pairs", "expert_roster", "clean_matches")
    data, params = load_saved(site_name, names)
    index, pairs = data["retrieval_index"], data["train_pairs"]
    train = pairs.groupby("project_id", sort=True).agg(
        agenda=("agenda", "first"), expert_id=("expert_id", list)
    )
    ids = [as_id(p) for p in train.index]
    scorer = cross_fitted_scorer(
        index,
        data["expert_roster"],
        pairs,
        data["clean_matches"],
        folds=FOLDS,
        seed=int(params["rerank_pairs"]["seed"]),
    )
    stage = scorer.score_all(
        [list(a) for a in train["agenda"]],
        ids,
        retriever_times(index, train.reset_index()[["project_id"]]),
    )
    column = [list(map(as_id, index.expert_ids)).index(e) for e in roster]
    matrices, labels = [], []
    for row, pid, experts in zip(stage, ids, train["expert_id"], strict=True):
        features = [_z(list(row[column]))]
        features += [_z([signals[s](int(pid), e) for e in roster]) for s in SIGNALS]
        matrices.append(np.nan_to_num(np.stack(features, axis=1)))
        labels.append(np.isin(roster, as_id_list(experts)).astype(int))
    return matrices, labels


class TreeModel:
    """Gradient-boosted trees on the rows; every project weighs the same."""

    def __init__(self, **settings: Any) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415

        self.model = HistGradientBoostingClassifier(
            max_iter=200, random_state=0, **settings
        )

    def fit(self, matrices: list[np.ndarray], labels: list[np.ndarray]):
        weights = [np.full(len(m), 1.0 / max(1, y.sum())) for m, y in zip(
            matrices, labels, strict=True)]  # fmt: skip
        self.model.fit(
            np.concatenate(matrices),
            np.concatenate(labels),
            sample_weight=np.concatenate(weights),
        )
        return self

    def decision_function(self, matrix: np.ndarray) -> np.ndarray:
        return self.model.decision_function(matrix)


def _ranked(model, matrices: list[np.ndarray], roster: list[str]) -> list[list[str]]:
    return _rank(model, matrices, whole_roster(roster, len(matrices)))


def site_result(site_name: str) -> dict[str, Any]:
    """Both models, trained on the training projects, against the stage."""
    site, splits, signals = site_inputs(site_name)
    roster = site.roster
    wanted = [splits["test"].names.index(n) for n in ["stage", *SIGNALS]]
    held = {k: [m[:, wanted] for m in s.matrices] for k, s in splits.items()}
    matrices, labels = training_matrices(site_name, roster, signals)
    candidates = {
        **{f"linear, C {c}": ListwiseModel(c) for c in C_GRID},
        **{
            f"trees, depth {t['max_depth']}, rate {t['learning_rate']}": TreeModel(**t)
            for t in TREES
        },
    }
    validation = {}
    for name, model in candidates.items():
        model.fit(matrices, labels)
        ranked = _ranked(model, held["validation"], roster)
        validation[name] = float(_mrr(ranked, splits["validation"].acceptable).mean())
    test_ok = splits["test"].acceptable
    stage = _mrr(site.ranked("test", site.stage["test"][0], 0.0), test_ok)
    rows = {}
    for family in ("linear", "trees"):
        name = max((n for n in candidates if n.startswith(family)), key=validation.get)
        mrr = _mrr(_ranked(candidates[name], held["test"], roster), test_ok)
        gain = (mrr - stage).to_numpy()
        rows[family] = {
            "chosen": name,
            "validation_mrr": validation[name],
            "test_mrr": float(mrr.mean()),
            "minus_stage": float(gain.mean()),
            "minus_stage_ci": _paired(gain),
        }
    return {
        "n_train": len(matrices),
        "n_validation": len(held["validation"]),
        "n_test": len(held["test"]),
        "features": ["stage", *SIGNALS],
        "stage_test_mrr": float(stage.mean()),
        "validation_mrr_by_setting": validation,
        "rows": rows,
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# Every signal, trained on the training projects, against the stage",
        "",
        provenance(results) + " Test split, full agendas, whole roster ranked; "
        "training projects' stage scores cross-fitted; setting chosen on "
        "validation MRR.",
        "",
        "| Site (train / val / test) | Model (chosen) | Val MRR | Test MRR | "
        "Stage test MRR | Minus the stage [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for site, r in results["sites"].items():
        sizes = f"{r['n_train']} / {r['n_validation']} / {r['n_test']}"
        for row in r["rows"].values():
            low, high = row["minus_stage_ci"]
            lines.append(
                f"| {site} ({sizes}) | {row['chosen']} | {row['validation_mrr']:.3f} "
                f"| {row['test_mrr']:.3f} | {r['stage_test_mrr']:.3f} | "
                f"{row['minus_stage']:+.3f} [{low:+.3f}, {high:+.3f}] |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", nargs="+", default=["dba", "history", "android"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        **run_record(COMMAND.format(sites=" ".join(args.sites), out=args.out)),
        "sites": {site: site_result(site) for site in args.sites},
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
