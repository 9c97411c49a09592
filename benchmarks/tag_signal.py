"""Do a question's tags tell the candidate stage something it misses?

On the Stack Exchange sites the fine-tuned reranker has not beaten the candidate
stage (the hybrid retriever with the activity prior). A reranker can only add what
its inputs hold beyond that stage. The importer leaves the question's tags out of
the agenda (the agenda is title + body, as a client would write it), and the
profiles name each expert's top tags. This script asks whether the tags would be
such an input: for each site it scores every roster expert by tag overlap with the
question (the sum over the question's tags of ``log(1 + n)``, ``n`` = how many of
the expert's profile-period and training questions carried the tag; nothing from
validation or test), fuses that with the candidate stage's score on z-scores,
``(1 - w) * z(hybrid+prior) + w * z(tags)``, tunes ``w`` on the validation projects
with the project's own rule (``evaluation.tuning.tune_weight``, ties towards 0:
the extra signal only when it helps) and reports the test metrics, with a paired
bootstrap CI of the MRR difference.

It reads the outputs of a site's ``stackexchange_import``, ``data_processing``,
``retrieval`` and ``evaluation`` runs (``--env stackexchange``) through the
catalog::

    python benchmarks/tag_signal.py --sites dba history android \\
        --out benchmarks/results/tag_signal_cpu.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GRID = [round(0.1 * i, 1) for i in range(11)]
N_BOOT, SEED = 2000, 2026
COMMAND = "python benchmarks/tag_signal.py --sites {sites} --out {out}"


def _load(site: str) -> dict[str, Any]:
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(ROOT)
    with KedroSession.create(
        project_path=ROOT,
        env="stackexchange",
        runtime_params={"stackexchange": {"site": site}},
    ) as session:
        catalog = session.load_context().catalog
        names = (
            "stackexchange_question_records",
            "stackexchange_import_report",
            "expert_roster",
            "train_pairs",
            "validation_projects",
            "test_projects",
            "baseline_rankings",
        )
        return {name: catalog.load(name) for name in names}


def expert_tag_counts(
    records: dict[int, Any], cutoff: int, roster: list[str], train_pairs: pd.DataFrame
) -> dict[str, Counter]:
    """Tags of each roster expert's profile-period and training questions."""
    counts: dict[str, Counter] = defaultdict(Counter)
    members = set(roster)
    for question_id, record in records.items():
        if question_id <= cutoff:
            for user in set(map(str, record.answerer_ids)):
                if user in members:
                    counts[user].update(record.tags)
    for project, expert in (
        train_pairs[["project_id", "expert_id"]].drop_duplicates().to_numpy()
    ):
        counts[str(expert)].update(records[int(project)].tags)
    return counts


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)


def split_scores(
    projects: pd.DataFrame,
    rankings: pd.DataFrame,
    split: str,
    roster: list[str],
    tag_score,
) -> tuple[list[np.ndarray], list[np.ndarray], list[list[str]]]:
    """Per project: candidate-stage z-scores, tag z-scores, acceptable experts."""
    stage = rankings[
        (rankings["system"] == "hybrid+prior")
        & (rankings["split"] == split)
        & (rankings["variant"] == "full")
    ]
    by_project = {
        str(pid): dict(zip(map(str, g["expert_id"]), g["score"], strict=True))
        for pid, g in stage.groupby("project_id")
    }
    stages, tags, acceptable = [], [], []
    for pid, experts in projects[["project_id", "acceptable_expert_ids"]].to_numpy():
        scores = by_project[str(pid)]
        floor = min(scores.values())
        stages.append(_z(np.array([scores.get(e, floor) for e in roster], float)))
        tags.append(_z(np.array([tag_score(int(pid), e) for e in roster], float)))
        acceptable.append([str(e) for e in experts])
    return stages, tags, acceptable


def site_result(site: str) -> dict[str, Any]:
    """Validation-tuned tag fusion against the candidate stage on one site."""
    from expert_kedro.evaluation.metrics import (  # noqa: PLC0415
        bootstrap_indices,
        per_project_metrics,
    )
    from expert_kedro.evaluation.tuning import tune_weight  # noqa: PLC0415
    from expert_kedro.importers.stackexchange import read_records  # noqa: PLC0415

    data = _load(site)
    records, _ = read_records(data["stackexchange_question_records"], site)
    cutoff = data["stackexchange_import_report"]["time_cut"][
        "profile_cutoff_question_id"
    ]
    roster = [str(e) for e in data["expert_roster"]["expert_id"]]
    counts = expert_tag_counts(records, cutoff, roster, data["train_pairs"])

    def tag_score(question_id: int, expert: str) -> float:
        return sum(math.log1p(counts[expert][t]) for t in records[question_id].tags)

    def ranked(stages, tags, weight):
        return [
            [
                roster[i]
                for i in np.argsort(-((1 - weight) * s + weight * t), kind="stable")
            ]
            for s, t in zip(stages, tags, strict=True)
        ]

    splits = {
        split: split_scores(
            data[f"{split}_projects"],
            data["baseline_rankings"],
            split,
            roster,
            tag_score,
        )
        for split in ("validation", "test")
    }
    val_stage, val_tags, val_acceptable = splits["validation"]
    weight, grid = tune_weight(
        lambda w: ranked(val_stage, val_tags, w),
        val_acceptable,
        GRID,
        name="tag_weight",
        prefer=0.0,
    )
    stage, tags, acceptable = splits["test"]
    test = {
        name: per_project_metrics(ranked(stage, tags, w), acceptable)
        for name, w in (
            ("hybrid+prior", 0.0),
            ("tags alone", 1.0),
            ("fused", weight),
        )
    }
    gain = (test["fused"]["mrr"] - test["hybrid+prior"]["mrr"]).to_numpy()
    draws = gain[bootstrap_indices(len(gain), N_BOOT, SEED)].mean(axis=1)
    return {
        "n_validation": len(val_acceptable),
        "n_test": len(acceptable),
        "tuned_tag_weight": weight,
        "validation_grid": grid.to_dict("records"),
        "test": {
            name: {m: float(v) for m, v in table.mean().items()}
            for name, table in test.items()
        },
        "test_mrr_gain": float(gain.mean()),
        "test_mrr_gain_ci": [float(np.quantile(draws, q)) for q in (0.025, 0.975)],
    }


def report(results: dict[str, Any], command: str) -> str:
    """The markdown report."""
    lines = [
        "# Do question tags add to the candidate stage? (Stack Exchange)",
        "",
        f"**{results['date']}, {results['machine']}.** Generated by `{command}` "
        "(method: the script's docstring). Test split, full agendas; `fused` uses "
        "the tag weight tuned on validation (ties towards 0).",
        "",
        "| Site | Validation / test projects | Tag weight | System | Hit@1 | Hit@5 "
        "| MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for site, result in results["sites"].items():
        for name, metrics in result["test"].items():
            lines.append(
                f"| {site} | {result['n_validation']} / {result['n_test']} | "
                f"{result['tuned_tag_weight']:.1f} | {name} | "
                f"{metrics['hit@1']:.3f} | {metrics['hit@5']:.3f} | "
                f"{metrics['mrr']:.3f} |"
            )
    lines += ["", "MRR of `fused` minus `hybrid+prior` on test, paired bootstrap:", ""]
    for site, result in results["sites"].items():
        low, high = result["test_mrr_gain_ci"]
        lines.append(
            f"- {site}: {result['test_mrr_gain']:+.3f} [{low:+.3f}, {high:+.3f}]"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", nargs="+", default=["dba", "history", "android"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, Python "
        f"{platform.python_version()}",
        "sites": {site: site_result(site) for site in args.sites},
    }
    command = COMMAND.format(sites=" ".join(args.sites), out=args.out)
    results["command"] = command
    args.out.with_suffix(".json").write_text(
        json.dumps(results, indent=2), encoding="utf-8"
    )
    args.out.write_text(report(results, command), encoding="utf-8")


if __name__ == "__main__":
    main()
