"""Which signals does the Stack Exchange candidate stage miss?

On the Stack Exchange sites the fine-tuned reranker has not beaten the candidate
stage (the hybrid retriever with the activity prior). A reranker, or a better
candidate stage, can only add what its inputs hold beyond that stage. This script
measures candidate signals without any model, each from data a deployed system
would have (the profile period and the training split; nothing from validation or
test):

* ``tags``: the question's tags (the importer keeps them out of the agenda, which
  is title + body as a client writes it): each roster expert scores
  ``sum(log(1 + n))`` over the question's tags, ``n`` = how many of the expert's
  profile-period and training questions carried the tag;
* ``recent``: recent activity, as of the question: how many of the last ``W``
  known questions (profile period and training projects) asked *before* it the
  expert answered. The prior of the candidate stage counts training bookings over
  the whole period instead, later questions included;
* ``latest``: the same count over the last ``W`` known questions of the whole
  period, one prior for every question (what a prior without question times can
  do);
* ``decay``: recent activity with an exponential decay instead of a window: each
  known question asked before this one that the expert answered counts
  ``exp(-g / tau)``, ``g`` = how many known questions were asked between the two
  (``tau`` in 10, 25, 50, 100, tuned on validation); the count of a window weighs
  the 1st and the 50th question back alike, the decay the latest most;
* ``gap``: ``1 / (1 + g)``, ``g`` = known questions asked since the expert's last
  answer before this one (0 if never): how lately, not how often;
* ``questions``: the text, question by question (the document-centric model of
  expert finding): BM25 of the question's title and body against each known
  question's, an expert scoring the best (``top1``) or the sum of the three best
  (``top3``) of the questions they answered. The candidate stage's BM25 reads one
  concatenated document per expert instead;
* ``asker``: the asker's own history (in an expert network, the client's): how many
  known questions of the same asker, asked before this one, the expert answered.
  The project's raw schema has no asker (client) id today; this measures whether
  adding one would pay.

The signals themselves are in ``benchmarks/site_signals.py``. Each signal is fused
with the candidate stage's score on z-scores,
``(1 - w) * z(hybrid+prior) + w * z(signal)``; ``w`` (and ``W``) are tuned on the
validation projects with the project's own rule (``evaluation.tuning.tune_weight``,
ties towards 0: the extra signal only when it helps). Test metrics use the tuned
values, with a paired bootstrap CI of the MRR difference. It reads the outputs of
a site's ``stackexchange_import``, ``data_processing``, ``retrieval`` and
``evaluation`` runs (``--env stackexchange``) through the catalog::

    python benchmarks/candidate_signals.py --sites dba history android \\
        --out benchmarks/results/candidate_signals_cpu.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from project_data import load_saved
from run_record import provenance, run_record, write_results
from site_signals import (
    Signal,
    asker_signal,
    decay_signal,
    gap_signal,
    known_answerers,
    latest_signal,
    question_signal,
    recent_signal,
    tag_signal,
)

GRID = [round(0.1 * i, 1) for i in range(11)]
WINDOWS = (50, 100, 200)
SIGNALS = ("tags", "recent", "latest", "decay", "gap", "questions", "asker")
TAUS = (10, 25, 50, 100)
N_BOOT, SEED = 2000, 2026
COMMAND = (
    "python benchmarks/candidate_signals.py --sites {sites} --signals {signals} "
    "--out {out}"
)


def _load(site: str) -> dict[str, Any]:
    names = (
        "stackexchange_question_records",
        "stackexchange_question_titles",
        "stackexchange_question_bodies",
        "stackexchange_import_report",
        "expert_roster",
        "train_pairs",
        "validation_projects",
        "test_projects",
        "baseline_rankings",
    )
    return load_saved(site, names)[0]


def _z(values: list[float]) -> np.ndarray:
    """Z-scores over the roster, as the fusion of the candidate stage takes them."""
    from expert_kedro.retrieval.base import zscore_rows  # noqa: PLC0415

    return zscore_rows(np.asarray(values, dtype=float)[None, :])[0]


def stage_scores(
    projects: pd.DataFrame, rankings: pd.DataFrame, split: str, roster: list[str]
) -> tuple[list[np.ndarray], list[list[str]]]:
    """Per project: the candidate stage's z-scores over the roster, and its
    acceptable experts."""
    stage = rankings[
        (rankings["system"] == "hybrid+prior")
        & (rankings["split"] == split)
        & (rankings["variant"] == "full")
    ]
    by_project = {
        str(pid): dict(zip(map(str, g["expert_id"]), g["score"], strict=True))
        for pid, g in stage.groupby("project_id")
    }
    scores, acceptable = [], []
    for pid, experts in projects[["project_id", "acceptable_expert_ids"]].to_numpy():
        row = by_project[str(pid)]
        floor = min(row.values())
        scores.append(_z([row.get(e, floor) for e in roster]))
        acceptable.append([str(e) for e in experts])
    return scores, acceptable


class SiteSignals:
    """The candidate stage and one signal on a site's validation and test split."""

    def __init__(self, data: dict[str, Any], roster: list[str]) -> None:
        self.roster = roster
        self.ids = {
            split: [int(p) for p in data[f"{split}_projects"]["project_id"]]
            for split in ("validation", "test")
        }
        self.stage = {
            split: stage_scores(
                data[f"{split}_projects"], data["baseline_rankings"], split, roster
            )
            for split in ("validation", "test")
        }

    def signal_scores(self, signal: Signal, split: str) -> list[np.ndarray]:
        return [_z([signal(q, e) for e in self.roster]) for q in self.ids[split]]

    def ranked(self, split: str, signal_z: list[np.ndarray], weight: float):
        return [
            [
                self.roster[i]
                for i in np.argsort(-((1 - weight) * s + weight * t), kind="stable")
            ]
            for s, t in zip(self.stage[split][0], signal_z, strict=True)
        ]


def fuse(site: SiteSignals, signals: dict[str, Signal]) -> dict[str, Any]:
    """Tune (variant, weight) on validation; test metrics at the tuned values."""
    from expert_kedro.evaluation.metrics import (  # noqa: PLC0415
        bootstrap_summary,
        per_project_metrics,
    )
    from expert_kedro.evaluation.tuning import tune_weight  # noqa: PLC0415

    tuned = []
    for variant, signal in signals.items():
        val_z = site.signal_scores(signal, "validation")
        weight, grid = tune_weight(
            lambda w, z=val_z: site.ranked("validation", z, w),
            site.stage["validation"][1],
            GRID,
            name="weight",
            prefer=0.0,
        )
        best = float(grid.loc[grid["weight"] == weight, "mrr"].iloc[0])
        tuned.append((best, -len(tuned), variant, weight))
    _, _, variant, weight = max(tuned)
    test_z = site.signal_scores(signals[variant], "test")
    acceptable = site.stage["test"][1]
    test = {
        name: per_project_metrics(site.ranked("test", test_z, w), acceptable)
        for name, w in (("hybrid+prior", 0.0), ("alone", 1.0), ("fused", weight))
    }
    gain = (test["fused"]["mrr"] - test["hybrid+prior"]["mrr"]).to_numpy()
    ci = bootstrap_summary(pd.DataFrame({"gain": gain}), N_BOOT, SEED)["gain"]
    return {
        "variant": variant,
        "tuned_weight": weight,
        "validation_mrr_by_variant": {v: m for m, _, v, _ in tuned},
        "test": {
            name: {m: float(v) for m, v in table.mean().items()}
            for name, table in test.items()
        },
        "test_mrr_gain": float(gain.mean()),
        "test_mrr_gain_ci": [ci["ci_low"], ci["ci_high"]],
    }


def question_texts(data: dict[str, Any]) -> dict[int, str]:
    """Title and body of every question of the site, by question id."""
    from expert_kedro.importers.stackexchange.sources import (  # noqa: PLC0415
        read_id_text_lines,
    )

    titles, _ = read_id_text_lines(data["stackexchange_question_titles"], "titles")
    bodies, _ = read_id_text_lines(data["stackexchange_question_bodies"], "bodies")
    return {q: f"{titles[q]} {bodies.get(q, '')}" for q in titles}


def site_result(site: str, wanted: tuple[str, ...] = SIGNALS) -> dict[str, Any]:
    """Both signals against the candidate stage on one site."""
    from expert_kedro.importers.stackexchange import read_records  # noqa: PLC0415

    data = _load(site)
    records, _ = read_records(data["stackexchange_question_records"], site)
    cutoff = data["stackexchange_import_report"]["time_cut"][
        "profile_cutoff_question_id"
    ]
    roster = [str(e) for e in data["expert_roster"]["expert_id"]]
    known = known_answerers(records, cutoff, roster, data["train_pairs"])
    texts = question_texts(data) if "questions" in wanted else {}
    signals = SiteSignals(data, roster)
    builders = {
        "tags": lambda: {"tags": tag_signal(records, known)},
        "recent": lambda: {f"last {w}": recent_signal(known, w) for w in WINDOWS},
        "latest": lambda: {f"last {w}": latest_signal(known, w) for w in WINDOWS},
        "decay": lambda: {f"tau {t}": decay_signal(known, t) for t in TAUS},
        "gap": lambda: {"gap": gap_signal(known)},
        "questions": lambda: {
            f"top{n}": question_signal(texts, known, n) for n in (1, 3)
        },
        "asker": lambda: {"asker": asker_signal(records, known)},
    }
    return {
        "n_validation": len(signals.ids["validation"]),
        "n_test": len(signals.ids["test"]),
        **{name: fuse(signals, builders[name]()) for name in wanted},
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# Signals the Stack Exchange candidate stage misses",
        "",
        provenance(results) + " Test split, full "
        "agendas; `fused` = the candidate stage and the signal at the weight (and, "
        "for `recent`, the window) tuned on validation.",
        "",
        "| Site | Validation / test | Signal | Tuned | System | Hit@1 | Hit@5 | MRR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    gains = []
    for site, result in results["sites"].items():
        for signal in (s for s in SIGNALS if s in result):
            fused = result[signal]
            tuned = f"{fused['variant']}, w={fused['tuned_weight']:.1f}"
            for name, metrics in fused["test"].items():
                lines.append(
                    f"| {site} | {result['n_validation']} / {result['n_test']} | "
                    f"{signal} | {tuned} | {name} | {metrics['hit@1']:.3f} | "
                    f"{metrics['hit@5']:.3f} | {metrics['mrr']:.3f} |"
                )
            low, high = fused["test_mrr_gain_ci"]
            gains.append(
                f"- {site}, {signal}: {fused['test_mrr_gain']:+.3f} "
                f"[{low:+.3f}, {high:+.3f}]"
            )
    lines += ["", "Test MRR of `fused` minus `hybrid+prior`, paired bootstrap:", ""]
    return "\n".join(lines + gains) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", nargs="+", default=["dba", "history", "android"])
    parser.add_argument("--signals", nargs="+", choices=SIGNALS, default=SIGNALS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        **run_record(
            COMMAND.format(
                sites=" ".join(args.sites), signals=" ".join(args.signals), out=args.out
            )
        ),
        "sites": {site: site_result(site, tuple(args.signals)) for site in args.sites},
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
