"""Does any fusion of the candidate stage and the reranker, tuned on validation,
beat the candidate stage on test?

Today's fusion (``fusion.fuse``: ``w z(stage) + (1 - w) z(llm)``, ``w`` on a 0.1 grid)
keeps picking ``w = 1`` (the stage alone) on the Stack Exchange sites. This script
re-fuses the candidates' saved ``retrieval_score`` and ``llm_score`` (full agendas):

* ``z-linear 0.1``: today's rule; at the weight the pipeline's own tuning picks
  (``tune_weight`` as ``RerankRanker.tune_weight`` calls it, ties towards 0.5) its
  ranks must equal the saved ones (checked, reported). ``z-linear 0.02``: finer grid;
* ``rrf``: ``1/(k + rank_stage) + a/(k + rank_llm)``, ``k`` in 10, 60, ``a`` in 0,
  0.1, ..., 1 (0: the stage); ``min-max linear``: ``minmax`` instead of ``z``;
* ``three-way``, given the cross-encoder's rankings (same stage, checked): ``w_s
  z(stage) + w_l z(llm) + w_c z(cross-encoder)`` on a 0.1 simplex grid.

Each family is tuned on validation by mean MRR (ties: the option closest to the stage,
listed first); test metrics use it, with a paired bootstrap CI of its MRR minus the
stage's; the tail follows the fused candidates (``fusion.order_with_tail``). Input:
``llm_rankings.parquet`` (and ``cross_encoder_rankings.parquet``) of a folder::

    python benchmarks/fusion_study.py --site history \\
        --rankings benchmarks/results/<run_dir> --out benchmarks/results/<name>.md
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from project_data import load_saved
from run_record import provenance, run_record, write_results
from scipy.stats import rankdata

from expert_kedro.evaluation.metrics import bootstrap_summary, per_project_metrics
from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.identifiers import as_id, as_id_list
from expert_kedro.recommender.fusion import fuse, order_with_tail
from expert_kedro.retrieval.base import zscore_rows

SPLITS = ("validation", "test")
GRID = [round(1.0 - 0.1 * i, 1) for i in range(11)]  # the stage (w = 1) first
FINE_GRID = [round(1.0 - 0.02 * i, 2) for i in range(51)]
RRF_KS = (10, 60)
SIMPLEX = [(s / 10, m / 10, (10 - s - m) / 10) for s in range(10, -1, -1)
           for m in range(10 - s, -1, -1)]  # fmt: skip
N_BOOT, SEED = 2000, 2026  # as in benchmarks/candidate_signals.py
COMMAND = "python benchmarks/fusion_study.py --site {} --rankings {} --out {}"
HEADER = """# Fusions of the candidate stage and {names}: {site}

{provenance}
Full agendas, {n[validation]} validation / {n[test]} test projects; test metrics.

Today's rule, tuned as the pipeline tunes it, picks w={repro[pipeline_weight]}: its
ranks equal the saved ones on {repro[same_as_saved][validation]} validation and
{repro[same_as_saved][test]} test projects: {verdict}.

| Fusion | Tuned | Val MRR | Hit@1 | Hit@5 | MRR | MRR - stage [95% CI] |
|---|---|---|---|---|---|---|
"""
ROW = (
    "| {fusion} | {tuned} | {validation_mrr:.3f} | {test[hit@1]:.3f} | "
    "{test[hit@5]:.3f} | {test[mrr]:.3f} | {test_mrr_gain:+.3f} "
    "[{test_mrr_gain_ci[0]:+.3f}, {test_mrr_gain_ci[1]:+.3f}] |\n"
)


@dataclass(frozen=True)
class Project:
    """A saved ranking taken apart: candidates (retrieval order), scores, tail."""

    candidates: list[str]
    retrieval: np.ndarray
    llm: np.ndarray
    tail: list[str]
    saved: list[str]
    acceptable: list[str]
    cross: np.ndarray | None = None


Scorer = Callable[[Project], np.ndarray]
Option = tuple[str, Scorer]


def full_rankings(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Full-agenda rows of one rerank system, ids as text."""
    if not {"retrieval_score", "llm_score"} <= set(frame):
        raise ValueError(f"{name} has no candidate scores: not a rerank system's.")
    full = frame[frame["variant"] == "full"].copy()
    if full["system"].nunique() != 1:
        raise ValueError(f"{name} holds systems {sorted(full['system'].unique())}.")
    full[["project_id", "expert_id"]] = full[["project_id", "expert_id"]].map(as_id)
    return full


def with_cross_encoder(llm: pd.DataFrame, cross: pd.DataFrame) -> pd.DataFrame:
    """``llm`` plus ``cross_score``; refuses two candidate stages."""
    keys = ["split", "project_id", "expert_id"]
    right = cross[[*keys, "retrieval_score", "llm_score"]].copy()
    right.columns = [*keys, "stage", "cross_score"]
    merged = llm.merge(right, on=keys, how="left", validate="one_to_one")
    same = np.isclose(merged["retrieval_score"], merged["stage"], 0.0, 1e-9, True)
    if not same.all():
        first = merged[~same].iloc[0][keys].to_dict()
        raise ValueError(f"LLM and cross-encoder: not one stage, e.g. at {first}.")
    return merged.drop(columns="stage")


def project_of(group: pd.DataFrame, acceptable: list[str]) -> Project:
    """Candidates (non-NaN ``llm_score``) in retrieval order, then the tail."""
    ordered = group.sort_values("rank", kind="stable")
    scored = ordered["llm_score"].notna().to_numpy()
    candidates = ordered[scored].sort_values(
        "retrieval_score", ascending=False, kind="stable"
    )
    column = candidates.get("cross_score")
    return Project(
        candidates=candidates["expert_id"].tolist(),
        retrieval=candidates["retrieval_score"].to_numpy(dtype=float),
        llm=candidates["llm_score"].to_numpy(dtype=float),
        tail=ordered.loc[~scored, "expert_id"].tolist(),
        saved=ordered["expert_id"].tolist(),
        acceptable=acceptable,
        cross=None if column is None else column.to_numpy(dtype=float),
    )


def reconstruct(
    full: pd.DataFrame, acceptable: dict[str, dict[str, list[str]]]
) -> dict[str, list[Project]]:
    """Per split, the ranked projects in the split table's order (others refused)."""
    projects = {}
    for split in SPLITS:
        sets = acceptable[split]
        groups = dict(list(full[full["split"] == split].groupby("project_id")))
        stray = sorted(set(groups) - set(sets))
        if stray or not groups:
            msg = f"{split} projects {stray[:3]} (of {len(groups)} ranked) are not"
            raise ValueError(f"{msg} this site's {split} projects: another split?")
        projects[split] = [project_of(groups[p], sets[p]) for p in sets if p in groups]
    return projects


def z_linear(weight: float) -> Scorer:
    """Today's fusion (``fusion.fuse``) at stage weight ``weight``."""
    return lambda p: fuse(p.retrieval, p.llm, weight)


def rrf(k: int, a: float) -> Scorer:
    """Reciprocal-rank fusion of the candidates' ranks (1 = best; ties: the earlier
    candidate), the reranker's weighted ``a``."""
    rank = partial(rankdata, method="ordinal")
    return lambda p: 1.0 / (k + rank(-p.retrieval)) + a / (k + rank(-p.llm))


def min_max_linear(weight: float) -> Scorer:
    """``w * minmax(stage) + (1 - w) * minmax(llm)`` (all-equal scores: zeros)."""

    def scaled(x: np.ndarray) -> np.ndarray:
        return (x - x.min()) / np.ptp(x) if np.ptp(x) > 0 else np.zeros(len(x))

    return lambda p: weight * scaled(p.retrieval) + (1 - weight) * scaled(p.llm)


def three_way(weights: tuple[float, float, float]) -> Scorer:
    """``w_s z(stage) + w_l z(llm) + w_c z(cross-encoder)``."""
    w = np.asarray(weights)
    return lambda p: w @ zscore_rows(np.vstack([p.retrieval, p.llm, p.cross]))


def families(three: bool) -> dict[str, list[Option]]:
    """Every family's options, the one closest to the stage first (three-way:
    ``(w_s, w_l, w_c)`` on the 0.1 simplex)."""
    found = {
        "z-linear 0.1": [(f"w={w:.1f}", z_linear(w)) for w in GRID],
        "z-linear 0.02": [(f"w={w:.2f}", z_linear(w)) for w in FINE_GRID],
        "rrf": [(f"k={k}, a={a:.1f}", rrf(k, a)) for a in GRID[::-1] for k in RRF_KS],
        "min-max linear": [(f"w={w:.1f}", min_max_linear(w)) for w in GRID],
    }
    if three:
        found["three-way"] = [(str(w), three_way(w)) for w in SIMPLEX]
    return found


def ranked(projects: list[Project], scorer: Scorer) -> list[list[str]]:
    """Whole-roster rankings: fused candidates, then each project's tail."""
    return [order_with_tail(p.candidates, scorer(p), p.tail)[0] for p in projects]


def metrics(projects: list[Project], scorer: Scorer) -> pd.DataFrame:
    """Per-project metrics (``per_project_metrics``) of one fusion."""
    sets = [p.acceptable for p in projects]
    return per_project_metrics(ranked(projects, scorer), sets)


def tune(options: list[Option], projects: list[Project]) -> int:
    """Index of the option of best mean MRR (ties: the earliest listed)."""
    mrrs = [float(metrics(projects, scorer)["mrr"].mean()) for _, scorer in options]
    return max(range(len(options)), key=lambda i: (mrrs[i], -i))


def reproduction(projects: dict[str, list[Project]]) -> dict[str, Any]:
    """Today's rule tuned as the pipeline tunes it: do its ranks equal the saved?"""
    val = projects["validation"]
    weight, _ = tune_weight(
        lambda w: ranked(val, z_linear(w)),
        [p.acceptable for p in val],
        GRID[::-1],  # the pipeline's recommender.weight_grid
        name="retrieval_weight",
    )
    same = {
        split: sum(r == p.saved for r, p in zip(ranked(ps, z_linear(weight)), ps))
        for split, ps in projects.items()
    }
    done = all(same[s] == len(projects[s]) for s in SPLITS)
    same = {s: f"{same[s]}/{len(projects[s])}" for s in SPLITS}
    return {"pipeline_weight": weight, "same_as_saved": same, "reproduced": done}


def result_row(name: str, option: Option, projects: dict) -> dict[str, Any]:
    """One report row: validation MRR, test means, paired CI of MRR - stage."""
    test = metrics(projects["test"], option[1])
    stage = metrics(projects["test"], z_linear(1.0))
    gain = test["mrr"].to_numpy() - stage["mrr"].to_numpy()
    ci = bootstrap_summary(pd.DataFrame({"gain": gain}), N_BOOT, SEED)["gain"]
    val_mrr = float(metrics(projects["validation"], option[1])["mrr"].mean())
    return {
        **{"fusion": name, "tuned": option[0], "validation_mrr": val_mrr},
        "test": {m: float(v) for m, v in test.mean().items()},
        "test_mrr_gain": float(gain.mean()),
        "test_mrr_gain_ci": [ci["ci_low"], ci["ci_high"]],
    }


def study(projects: dict[str, list[Project]]) -> list[dict[str, Any]]:
    """The stage, the LLM alone and every family tuned on validation."""
    val = projects["validation"]
    chosen = {"stage alone": ("w=1.0", z_linear(1.0))}
    chosen["LLM alone"] = ("w=0.0", z_linear(0.0))
    for name, options in families(val[0].cross is not None).items():
        chosen[name] = options[tune(options, val)]
    return [result_row(name, option, projects) for name, option in chosen.items()]


def load_acceptable(site: str) -> dict[str, dict[str, list[str]]]:
    """Per split, each project's acceptable experts, in the split table's order."""
    data, _ = load_saved(site, [f"{split}_projects" for split in SPLITS])
    acceptable = {}
    for split in SPLITS:
        table = data[f"{split}_projects"]
        sets = table["acceptable_expert_ids"].map(as_id_list)
        acceptable[split] = dict(zip(table["project_id"].map(as_id), sets, strict=True))
    return acceptable


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    repro, names = results["reproduction"], " + ".join(results["systems"])
    verdict = "reproduced" if repro["reproduced"] else "**NOT reproduced**"
    head = HEADER.format(
        names=names,
        repro=repro,
        verdict=verdict,
        provenance=provenance(results),
        **results,
    )
    return head + "".join(ROW.format(**row) for row in results["rows"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--rankings", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    llm = full_rankings(pd.read_parquet(args.rankings / "llm_rankings.parquet"), "llm")
    systems = [str(llm["system"].iloc[0])]
    if (path := args.rankings / "cross_encoder_rankings.parquet").exists():
        cross = full_rankings(pd.read_parquet(path), "cross_encoder")
        llm = with_cross_encoder(llm, cross)
        systems.append(str(cross["system"].iloc[0]))
    projects = reconstruct(llm, load_acceptable(args.site))
    results = {
        **run_record(COMMAND.format(args.site, args.rankings, args.out)),
        "site": args.site,
        "systems": systems,
        "n": {split: len(projects[split]) for split in SPLITS},
        "reproduction": reproduction(projects),
        "rows": study(projects),
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
