"""How far can every measured signal, combined, lift the Stack Exchange candidate stage?

``benchmarks/candidate_signals.py`` fuses one signal at a time with the candidate
stage and finds that validation gives almost every one of them no weight. A
reranker reads all of them at once, though (the agenda's text, the candidate's
profile, the Activity line), so one signal at a time could miss what a combination
holds. This script asks the combined question without any model: a linear score
over the z-scores (over the roster, per project) of

* the candidate stage (``hybrid+prior``) and its parts as the evaluation ranks
  them (``bm25``, ``dense``, ``popularity``, ``recent_activity``);
* the signals of ``benchmarks/site_signals.py``: recent activity (last 50 and 100
  known questions), decayed activity (tau 25), the gap since the last answer, the
  question-by-question BM25 (best one, best three), and two the raw schema has no
  field for: the question's tags and the asker's own history,

fit with the reranker's own listwise loss (softmax over each project's roster,
L2 penalty ``1 / (2 C n)``; ``C`` chosen by 5-fold cross-validation over the
validation projects, by MRR) on the validation projects, then ranking the test
projects beside the stage, with a paired bootstrap CI of the MRR difference. The
groups of signals are nested, each row adding one group, so the report says where
a gain comes from.

``Fit on test`` fits the same model (``C`` 100) on the test projects themselves and
scores it there. It sees the answers, so it is no result: it says roughly how far
a linear combination of the signals can go on this split. It is not a strict bound
(the loss is not MRR; on a small split it can fall below the stage itself), but a
reranker whose score adds nothing these signals lack cannot be expected above it.
The share of test projects with an acceptable expert in the stage's top 20 (the
most a top-20 reranker could put first) is reported beside.

It reads the outputs of a site's ``stackexchange_import``, ``data_processing``,
``retrieval`` and ``evaluation`` runs (``--env stackexchange``)::

    python benchmarks/stacked_signals.py --sites dba history android \\
        --out benchmarks/results/stacked_signals_cpu.md
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from candidate_signals import SiteSignals, _load, _z, question_texts
from run_record import provenance, run_record, write_results
from site_signals import (
    asker_signal,
    decay_signal,
    gap_signal,
    known_answerers,
    question_signal,
    recent_signal,
    tag_signal,
)

PARTS = ("bm25", "dense", "popularity", "recent_activity")
# Nested groups: each adds its signals to those of the groups before it.
GROUPS = {
    "the stage's parts": ("stage", *PARTS),
    "+ finer recency": ("recent 50", "recent 100", "decay 25", "gap"),
    "+ question-level text": ("questions top1", "questions top3"),
    "+ tags, asker (not in the raw schema)": ("tags", "asker"),
}
C_GRID = (0.1, 1.0, 10.0, 100.0)
FOLDS, N_BOOT, SEED = 5, 2000, 2026
COMMAND = "python benchmarks/stacked_signals.py --sites {sites} --out {out}"


def part_scores(
    rankings: pd.DataFrame, system: str, split: str, ids: list[int], roster: list[str]
) -> list[np.ndarray]:
    """Per project, the z-scores over the roster of one baseline of the evaluation."""
    rows = rankings[
        (rankings["system"] == system)
        & (rankings["split"] == split)
        & (rankings["variant"] == "full")
    ]
    by_project = {
        int(pid): dict(zip(map(str, g["expert_id"]), g["score"], strict=True))
        for pid, g in rows.groupby("project_id")
    }
    scores = []
    for pid in ids:
        row = by_project[pid]
        floor = min(row.values())
        scores.append(_z([row.get(e, floor) for e in roster]))
    return scores


def features(
    site: SiteSignals, data: dict[str, Any], signals: dict[str, Any], split: str
) -> tuple[list[np.ndarray], list[str]]:
    """Per project, a ``[roster, feature]`` matrix of z-scores, and the names."""
    columns = {"stage": site.stage[split][0]}
    for system in PARTS:
        columns[system] = part_scores(
            data["baseline_rankings"], system, split, site.ids[split], site.roster
        )
    for name, signal in signals.items():
        columns[name] = site.signal_scores(signal, split)
    names = list(columns)
    matrices = [
        np.nan_to_num(np.stack([columns[n][i] for n in names], axis=1))
        for i in range(len(site.ids[split]))
    ]
    return matrices, names


def _labels(site: SiteSignals, split: str) -> list[np.ndarray]:
    return [
        np.isin(site.roster, list(acceptable)).astype(int)
        for acceptable in site.stage[split][1]
    ]


class ListwiseModel:
    """A linear score ``x @ w`` fit with the listwise (softmax) loss of the reranker.

    Per project, ``-log(sum_{acceptable} exp(s) / sum_{roster} exp(s))``, averaged
    over projects, plus ``||w||^2 / (2 C n)``: the objective the LLM reranker
    trains with (``modeling/ranking_loss.py``), so the fit aims at the ranking, not
    at the per-row labels.
    """

    def __init__(self, c: float) -> None:
        self.c = c
        self.weights: np.ndarray | None = None

    def objective(
        self, weights: np.ndarray, matrices: list[np.ndarray], labels: list[np.ndarray]
    ) -> tuple[float, np.ndarray]:
        """The penalised mean loss over projects with an answerer, and its gradient."""
        from scipy.special import logsumexp  # noqa: PLC0415

        pairs = [(m, y.astype(bool)) for m, y in zip(matrices, labels) if y.any()]
        penalty = 1.0 / (2.0 * self.c * len(pairs))
        total, grad = penalty * weights @ weights, 2 * penalty * weights
        for m, y in pairs:
            s = m @ weights
            every, right = logsumexp(s), logsumexp(s[y])
            total += (every - right) / len(pairs)
            grad = grad + (np.exp(s - every) @ m - np.exp(s[y] - right) @ m[y]) / len(
                pairs
            )
        return float(total), grad

    def fit(self, matrices: list[np.ndarray], labels: list[np.ndarray]):
        from scipy.optimize import minimize  # noqa: PLC0415

        start = np.zeros(matrices[0].shape[1])
        self.weights = minimize(
            self.objective, start, args=(matrices, labels), jac=True, method="L-BFGS-B"
        ).x
        return self

    def decision_function(self, matrix: np.ndarray) -> np.ndarray:
        return matrix @ self.weights


def _fit(matrices: list[np.ndarray], labels: list[np.ndarray], c: float):
    return ListwiseModel(c).fit(matrices, labels)


# Per project: the experts a model orders (its matrix's rows) and the tail that
# follows them in the candidate stage's order (empty when the whole roster is
# ordered).
Lists = list[tuple[list[str], list[str]]]


def whole_roster(roster: list[str], projects: int) -> Lists:
    """Every project orders the whole roster; no tail."""
    return [(roster, [])] * projects


def _rank(model, matrices: list[np.ndarray], lists: Lists) -> list[list[str]]:
    return [
        [ids[i] for i in np.argsort(-model.decision_function(m), kind="stable")] + tail
        for m, (ids, tail) in zip(matrices, lists, strict=True)
    ]


def _mrr(ranked: list[list[str]], acceptable: list[list[str]]) -> pd.Series:
    from expert_kedro.evaluation.metrics import per_project_metrics  # noqa: PLC0415

    return per_project_metrics(ranked, acceptable)["mrr"]


def choose_c(
    matrices: list[np.ndarray],
    labels: list[np.ndarray],
    acceptable: list[list[str]],
    lists: Lists,
) -> tuple[float, dict[float, float]]:
    """``C`` of the best mean MRR over seeded folds of projects (ties: smaller)."""
    folds = np.random.default_rng(SEED).permutation(len(matrices)) % FOLDS
    scores = {}
    for c in C_GRID:
        mrr = []
        for fold in range(FOLDS):
            train = [i for i in range(len(matrices)) if folds[i] != fold]
            held = [i for i in range(len(matrices)) if folds[i] == fold]
            model = _fit([matrices[i] for i in train], [labels[i] for i in train], c)
            ranked = _rank(model, [matrices[i] for i in held], [lists[i] for i in held])
            mrr.extend(_mrr(ranked, [acceptable[i] for i in held]))
        scores[c] = float(np.mean(mrr))
    best = max(C_GRID, key=lambda c: (round(scores[c], 6), -c))
    return best, scores


def _paired(gain: np.ndarray) -> list[float]:
    from expert_kedro.evaluation.metrics import bootstrap_summary  # noqa: PLC0415

    ci = bootstrap_summary(pd.DataFrame({"gain": gain}), N_BOOT, SEED)["gain"]
    return [ci["ci_low"], ci["ci_high"]]


def _site_signals(data: dict[str, Any], site_name: str, roster: list[str]):
    from expert_kedro.importers.stackexchange import read_records  # noqa: PLC0415

    records, _ = read_records(data["stackexchange_question_records"], site_name)
    cutoff = data["stackexchange_import_report"]["time_cut"][
        "profile_cutoff_question_id"
    ]
    known = known_answerers(records, cutoff, roster, data["train_pairs"])
    texts = question_texts(data)
    return {
        "recent 50": recent_signal(known, 50),
        "recent 100": recent_signal(known, 100),
        "decay 25": decay_signal(known, 25),
        "gap": gap_signal(known),
        "questions top1": question_signal(texts, known, 1),
        "questions top3": question_signal(texts, known, 3),
        "tags": tag_signal(records, known),
        "asker": asker_signal(records, known),
    }


@dataclass
class Split:
    """One split's projects as the listwise model reads them."""

    matrices: list[np.ndarray]  # per project, [experts ordered, signal]
    names: list[str]  # the signals, in column order
    labels: list[np.ndarray]  # per project, 1 for an acceptable expert
    acceptable: list[list[str]]
    lists: Lists

    def columns(self, wanted: list[str]) -> list[np.ndarray]:
        index = [self.names.index(c) for c in wanted]
        return [m[:, index] for m in self.matrices]


def group_result(
    splits: dict[str, Split], columns: list[str], reference: pd.Series
) -> dict[str, Any]:
    """Fit on validation over ``columns``; test MRR, paired gain over
    ``reference`` (per test project MRR), and the fit on test itself."""
    val, test = splits["validation"], splits["test"]
    c, cv = choose_c(val.columns(columns), val.labels, val.acceptable, val.lists)
    model = _fit(val.columns(columns), val.labels, c)
    stacked = _mrr(_rank(model, test.columns(columns), test.lists), test.acceptable)
    in_sample = _fit(test.columns(columns), test.labels, max(C_GRID))
    gain = (stacked - reference.to_numpy()).to_numpy()
    return {
        "columns": columns,
        "chosen_c": c,
        "cv_mrr_by_c": {str(k): v for k, v in cv.items()},
        "coefficients": dict(zip(columns, map(float, model.weights), strict=True)),
        "test_mrr": float(stacked.mean()),
        "minus_reference": float(gain.mean()),
        "minus_reference_ci": _paired(gain),
        "in_sample_mrr": float(
            _mrr(
                _rank(in_sample, test.columns(columns), test.lists), test.acceptable
            ).mean()
        ),
    }


def roster_split(
    site: SiteSignals, table: tuple[list[np.ndarray], list[str]], split: str
) -> Split:
    """A split whose projects order the whole roster (``table``: :func:`features`)."""
    matrices, names = table
    return Split(
        matrices,
        names,
        _labels(site, split),
        site.stage[split][1],
        whole_roster(site.roster, len(matrices)),
    )


def site_inputs(site_name: str) -> tuple[SiteSignals, dict[str, Split], dict]:
    """A site's stage, every signal's roster z-scores per split, and the signals
    (by name) they were computed from."""
    data = _load(site_name)
    roster = [str(e) for e in data["expert_roster"]["expert_id"]]
    signals = _site_signals(data, site_name, roster)
    site = SiteSignals(data, roster)
    splits = {
        split: roster_split(site, features(site, data, signals, split), split)
        for split in ("validation", "test")
    }
    return site, splits, signals


def weighted_mrr(
    split: Split, columns: list[str], weights: dict[str, float]
) -> pd.Series:
    """Per project MRR when ``split`` is ranked by a weighted sum of ``columns``."""
    vector = np.array([weights[c] for c in columns])
    index = [split.names.index(c) for c in columns]
    ranked = [
        [ids[i] for i in np.argsort(-(m[:, index] @ vector), kind="stable")] + tail
        for m, (ids, tail) in zip(split.matrices, split.lists, strict=True)
    ]
    return _mrr(ranked, split.acceptable)


def _alone(split: Split, name: str) -> pd.Series:
    return weighted_mrr(split, [name], {name: 1.0})


def site_result(site_name: str) -> dict[str, Any]:
    """Each nested group of signals against the candidate stage on one site."""
    site, splits, _ = site_inputs(site_name)
    test = splits["test"]
    stage = _alone(test, "stage")
    baselines = {name: float(_alone(test, name).mean()) for name in ("stage", *PARTS)}
    top20 = [r[:20] for r in site.ranked("test", site.stage["test"][0], 0.0)]
    columns: list[str] = []
    groups = {}
    for group, members in GROUPS.items():
        columns = columns + list(members)
        groups[group] = group_result(splits, columns, stage)
    held = [
        bool(set(r) & set(ok)) for r, ok in zip(top20, test.acceptable, strict=True)
    ]
    return {
        "n_validation": len(site.ids["validation"]),
        "n_test": len(site.ids["test"]),
        "test_mrr_baselines": baselines,
        "stage_top20_holds_an_answerer": float(np.mean(held)),
        "groups": groups,
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# Every measured signal at once, against the Stack Exchange candidate stage",
        "",
        provenance(results) + " Test split, full agendas, whole roster ranked. "
        "Each row adds a group of signals to the one above; `fit on validation`: "
        "the listwise linear model fit on validation (C by 5-fold CV), tested on "
        "test; `fit on test`: the same model fit on the test projects themselves "
        "(it sees the answers, so it is no result: roughly how far a linear "
        "combination of these signals goes on this split; not a strict bound, "
        "the loss is not MRR). `x best`: over the best "
        "baseline of the site among the stage and its parts.",
        "",
        "| Site | Signals | Fit on validation: test MRR | minus the stage [95% CI] "
        "| Fit on test: MRR (x best) |",
        "|---|---|---|---|---|",
    ]
    for site, r in results["sites"].items():
        best = max(r["test_mrr_baselines"].values())
        for group, g in r["groups"].items():
            low, high = g["minus_reference_ci"]
            lines.append(
                f"| {site} | {group} | {g['test_mrr']:.3f} | "
                f"{g['minus_reference']:+.3f} [{low:+.3f}, {high:+.3f}] | "
                f"{g['in_sample_mrr']:.3f} "
                f"({g['in_sample_mrr'] / best:.2f}x) |"
            )
    lines += ["", "Test MRR of the stage and its parts, and the stage's top 20:", ""]
    for site, r in results["sites"].items():
        parts = ", ".join(f"{k} {v:.3f}" for k, v in r["test_mrr_baselines"].items())
        lines.append(
            f"- {site} ({r['n_validation']} validation / {r['n_test']} test "
            f"projects): {parts}; an acceptable expert in the stage's top 20: "
            f"{r['stage_top20_holds_an_answerer']:.3f}"
        )
    lines += ["", "Weights of the validation fit with every signal (z-scored):", ""]
    for site, r in results["sites"].items():
        g = r["groups"][list(GROUPS)[-1]]
        coefs = ", ".join(f"{k} {v:+.2f}" for k, v in g["coefficients"].items())
        lines.append(f"- {site} (C {g['chosen_c']}): {coefs}")
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
