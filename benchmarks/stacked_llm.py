"""Does the fine-tuned reranker add anything beyond every measured signal?

``benchmarks/stacked_signals.py`` fits a listwise linear model over every signal
measured on the Stack Exchange sites. This script adds the scores a GPU recipe run
saved for the stage's top-K candidates (``llm_rankings.parquet``: the fine-tuned
SmolLM2's ``llm_score``; ``cross_encoder_rankings.parquet``: the cross-encoder's)
and asks, on the same candidates, with the same model and its choice of ``C``:

* ``stage + LLM``: the pipeline's question (its own fusion is a weight grid on
  z-scores, here fit listwise);
* ``every signal``: the stage, its parts and the signals of ``stacked_signals``;
* ``every signal + LLM`` and ``+ cross-encoder``: whether the reranker's score
  still gets a weight, and lifts test MRR, once every measured signal is in.

Each model reorders the top-K candidates (every input z-scored among them); the
rest of the roster follows in the stage's order, as in the pipeline. Fit on
validation, tested on test, with a paired bootstrap CI of each row's MRR minus
the stage's, and of ``every signal + LLM`` minus ``every signal`` (what the LLM
adds); ``fit on test`` as in ``stacked_signals``. The runs must come from the same
import and split as the site's local runs (checked: the run ranked exactly the local
validation and test projects)::

    python benchmarks/stacked_llm.py --out benchmarks/results/stacked_llm_h100.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from candidate_signals import _z
from fusion_study import full_rankings, project_of, with_cross_encoder
from run_record import provenance, run_record, write_results
from stacked_signals import (
    GROUPS,
    Split,
    _paired,
    group_result,
    site_inputs,
    weighted_mrr,
)

RESULTS = Path(__file__).resolve().parent / "results"
# The GPU recipe run of each site whose LLM scores are read: float32 scores where
# one exists (history; android's best LLM alone, listwise + cross-fitted); dba has
# bf16 scores only (cross-fitted run).
RUNS = {
    "dba": "stackexchange_dba_crossfit5_h100",
    "history": "stackexchange_history_f32head_h100",
    "android": "stackexchange_android_listwise_cf5_h100",
}
EVERY = [name for members in GROUPS.values() for name in members]
ROWS = {
    "stage": ["stage"],
    "stage + LLM": ["stage", "llm"],
    "every signal": EVERY,
    "every signal + LLM": [*EVERY, "llm"],
    "every signal + LLM + cross-encoder": [*EVERY, "llm", "cross_encoder"],
}
COMMAND = "python benchmarks/stacked_llm.py --sites {sites} --out {out}"


def saved_scores(folder: Path) -> pd.DataFrame:
    """Full-agenda candidate rows of a run: ``llm_score`` and ``cross_score``."""
    llm = full_rankings(pd.read_parquet(folder / "llm_rankings.parquet"), "llm")
    cross = full_rankings(
        pd.read_parquet(folder / "cross_encoder_rankings.parquet"), "cross-encoder"
    )
    return with_cross_encoder(llm, cross)


def candidate_split(
    roster_split: Split, ids: list[int], roster: list[str], scores: pd.DataFrame
) -> Split:
    """The split restricted to each project's scored candidates, plus the scores."""
    position = {expert: i for i, expert in enumerate(roster)}
    by_project = dict(tuple(scores.groupby("project_id")))
    if set(by_project) != {str(p) for p in ids}:
        raise ValueError(
            "The run ranked other projects than the local split: not the same "
            "import and split."
        )
    matrices, labels, lists = [], [], []
    for pid, matrix, acceptable in zip(
        ids, roster_split.matrices, roster_split.acceptable, strict=True
    ):
        project = project_of(by_project[str(pid)], acceptable)
        rows = matrix[[position[e] for e in project.candidates]]
        columns = [_z(list(rows[:, j])) for j in range(rows.shape[1])]
        columns += [_z(list(project.llm)), _z(list(project.cross))]
        matrices.append(np.nan_to_num(np.stack(columns, axis=1)))
        labels.append(np.isin(project.candidates, acceptable).astype(int))
        lists.append((project.candidates, project.tail))
    return Split(
        matrices,
        [*roster_split.names, "llm", "cross_encoder"],
        labels,
        roster_split.acceptable,
        lists,
    )


def site_result(site_name: str, folder: Path) -> dict[str, Any]:
    """Every row of :data:`ROWS` on one site's top-K candidates."""
    site, roster_splits, _ = site_inputs(site_name)
    scores = saved_scores(folder)
    splits = {
        split: candidate_split(
            roster_splits[split],
            site.ids[split],
            site.roster,
            scores[scores["split"] == split],
        )
        for split in ("validation", "test")
    }
    test = splits["test"]
    stage = weighted_mrr(test, ["stage"], {"stage": 1.0})
    rows = {name: group_result(splits, cols, stage) for name, cols in ROWS.items()}
    every = weighted_mrr(test, EVERY, rows["every signal"]["coefficients"])
    with_llm = weighted_mrr(
        test, [*EVERY, "llm"], rows["every signal + LLM"]["coefficients"]
    )
    gain = (with_llm - every).to_numpy()
    return {
        "run": folder.name,
        "n_validation": len(site.ids["validation"]),
        "n_test": len(site.ids["test"]),
        "candidates_per_project": int(np.median([len(c) for c, _ in test.lists])),
        "rows": rows,
        "llm_beyond_every_signal": float(gain.mean()),
        "llm_beyond_every_signal_ci": _paired(gain),
    }


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# What the fine-tuned reranker adds beyond every measured signal",
        "",
        provenance(results) + " Test split, full agendas; each model reorders the "
        "stage's scored candidates (the rest follows in the stage's order), fit "
        "on validation (listwise, C by 5-fold CV); `fit on test`: the same model "
        "fit on the test projects themselves (sees the answers; not a result).",
        "",
        "| Site (run) | Inputs | Test MRR | minus the stage [95% CI] | "
        "Fit on test: MRR | LLM weight |",
        "|---|---|---|---|---|---|",
    ]
    for site, r in results["sites"].items():
        for name, row in r["rows"].items():
            low, high = row["minus_reference_ci"]
            weight = row["coefficients"].get("llm")
            lines.append(
                f"| {site} ({r['run']}) | {name} | {row['test_mrr']:.3f} | "
                f"{row['minus_reference']:+.3f} [{low:+.3f}, {high:+.3f}] | "
                f"{row['in_sample_mrr']:.3f} | "
                + ("" if weight is None else f"{weight:+.2f}")
                + " |"
            )
    lines += ["", "`every signal + LLM` minus `every signal`, test MRR:", ""]
    for site, r in results["sites"].items():
        low, high = r["llm_beyond_every_signal_ci"]
        lines.append(
            f"- {site}: {r['llm_beyond_every_signal']:+.3f} [{low:+.3f}, {high:+.3f}]"
            f" ({r['n_validation']} validation / {r['n_test']} test projects, "
            f"{r['candidates_per_project']} candidates each)"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", nargs="+", default=list(RUNS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        **run_record(COMMAND.format(sites=" ".join(args.sites), out=args.out)),
        "sites": {s: site_result(s, RESULTS / RUNS[s]) for s in args.sites},
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
