"""One results table per dataset, regenerated from saved evaluation outputs.

Reads the ``evaluation_metrics`` JSON files that ``benchmarks/dataset_tables.yml``
names per dataset (one run of the ``gpu`` recipe, one of the base recipe) and writes
a page with, per dataset, every system on the full agendas of the test split: the
baselines (from the ``gpu`` run, or from the other run where only it has the
current candidate stage), then the cross-encoder, the zero-shot LLM and the
fine-tuned LLM of each recipe, with hit@1, hit@5, MRR, nDCG@5 and recall@K and their
95% bootstrap CIs, as the evaluation computed them. Under each table, per run: the
best baseline by MRR and that run's fine-tuned LLM's ratio to it (the issue-15 goal,
for the ``gpu`` recipe, is 1.10). Run from the project root::

    python benchmarks/dataset_tables.py --out docs/results_tables.md
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from expert_kedro.evaluation.reporting import render_results_table

logger = logging.getLogger(__name__)

RESULTS = Path(__file__).parent / "results"
MANIFEST = Path(__file__).parent / "dataset_tables.yml"
BASELINES = (
    "random",
    "popularity",
    "recent_activity",
    "bm25",
    "dense",
    "hybrid",
    "hybrid+prior",
)
RECIPE_SYSTEMS = ("cross_encoder", "zero_shot_rerank", "llm_rerank")
# recent_activity is in evaluations run since the recency signal (older ones lack it).
GOAL_BASELINES = (
    "popularity",
    "recent_activity",
    "bm25",
    "dense",
    "hybrid+prior",
    "cross_encoder",
)
RECIPES = {"cpu": "CPU recipe", "gpu": "GPU recipe"}


def _full(metrics: Mapping[str, Any], system: str) -> Mapping[str, Any] | None:
    return metrics["systems"].get(system, {}).get("full")


def _mrr(metrics: Mapping[str, Any], system: str) -> float | None:
    entry = _full(metrics, system)
    return None if entry is None else entry["mrr"]["value"]


def baseline_gap(runs: Mapping[str, Mapping[str, Any]]) -> float:
    """Largest MRR difference of one baseline between the runs of a dataset.

    The runs share the split and the metric code, so their baselines should agree;
    a retriever embedded on another device can move a few rankings.
    """
    gaps = [
        abs(a - b)
        for system in BASELINES
        for a in [_mrr(runs["gpu"], system)]
        for b in [_mrr(runs["cpu"], system)]
        if a is not None and b is not None
    ]
    return max(gaps, default=0.0)


def baseline_recipe(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """The run whose baselines the table shows: the GPU recipe's, unless only the
    other run has the current candidate stage (its ``recent_activity`` baseline)."""
    current = [r for r in RECIPES if r in runs and _recency_measured(runs[r])]
    return "gpu" if "gpu" in current or not current else current[0]


def _recency_measured(metrics: Mapping[str, Any]) -> bool:
    return "recent_activity" in metrics["systems"]


def merged_metrics(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One ``evaluation_metrics``-shaped dict: baselines, then each recipe's systems."""
    base = runs[baseline_recipe(runs)]
    systems: dict[str, Any] = {}
    for system in BASELINES:
        entry = _full(base, system)
        if entry is not None:
            systems[system] = {"full": entry}
    for system in RECIPE_SYSTEMS:
        for recipe, label in RECIPES.items():
            entry = _full(runs[recipe], system) if recipe in runs else None
            if entry is not None:
                systems[f"{system} ({label})"] = {"full": entry}
    return {**base, "systems": systems}


def goal_line(metrics: Mapping[str, Any], label: str) -> str:
    """Best baseline by MRR of one run and that run's fine-tuned LLM's ratio to it
    (both from the same run: same split, same candidate stage)."""
    scores = {s: _mrr(metrics, s) for s in GOAL_BASELINES}
    scores = {s: v for s, v in scores.items() if v is not None}
    best = max(scores, key=scores.__getitem__)
    tuned = _mrr(metrics, "llm_rerank")
    if tuned is None:
        return f"{label} run: no fine-tuned LLM."
    ratio = tuned / scores[best]
    return (
        f"{label} run: best baseline by MRR {best} ({scores[best]:.3f}); fine-tuned "
        f"LLM {tuned:.3f} = {ratio:.2f}x (goal on real data, GPU recipe: 1.10x)."
    )


def dataset_section(name: str, entry: Mapping[str, str], results: Path) -> str:
    """The markdown section of one dataset."""
    runs: dict[str, Any] = {}
    sources = []
    for recipe, label in RECIPES.items():
        path = results / entry[recipe]
        if path.exists():
            runs[recipe] = json.loads(path.read_text())
            machine = runs[recipe].get("machine", {}).get("description", "?")
            date = runs[recipe].get("date", "?")
            sources.append(f"{label}: `{entry[recipe]}` ({machine}, {date})")
        else:
            logger.warning("%s: %s not found; its rows are left out", name, path)
            sources.append(f"{label}: not measured (`{entry[recipe]}`)")
    if "gpu" not in runs:
        raise FileNotFoundError(f"{name}: the gpu run {entry['gpu']} is required")
    # The renderer's caption names one run's date and machine; each row's run is
    # listed under Sources instead.
    table = render_results_table(merged_metrics(runs)).split("\n\n")[0]
    counts = runs["gpu"].get("n_projects", {})
    notes = [f"Test split: {counts.get('test', '?')} projects."]
    notes += [goal_line(runs[r], label) for r, label in RECIPES.items() if r in runs]
    shown = RECIPES[baseline_recipe(runs)]
    if len(runs) > 1:
        notes.append(
            f"Baselines from the {shown} run; the other run's baselines differ by "
            f"at most {baseline_gap(runs):.3f} MRR."
        )
    notes += [
        f"The {label} run predates the recency term of the candidate stage "
        "(`retrieval.recency`): its `hybrid+prior` has none and it has no "
        "`recent_activity` baseline; the term's effect on the candidate stage: "
        "`benchmarks/results/recency_ablation_cpu.md`."
        for r, label in RECIPES.items()
        if r in runs and not _recency_measured(runs[r])
    ]
    lines = [f"## {entry.get('title', name)}", "", table, "", *notes, "", "Sources:"]
    lines += [f"- {source}" for source in sources]
    return "\n".join(lines) + "\n"


def build_page(manifest: Mapping[str, Any], results: Path) -> str:
    """The whole page: a header, then one section per dataset of the manifest."""
    header = (
        "# Results, one table per dataset\n\n"
        "Generated by `python benchmarks/dataset_tables.py --out "
        "docs/results_tables.md` from the evaluation outputs named in "
        "`benchmarks/dataset_tables.yml` (files in `benchmarks/results/`). Test "
        "split, full agendas; partial agendas and validation are in each run's "
        "own table. Value [95% CI], bootstrap over projects. The CPU recipe is the "
        "project's defaults (32 training steps); the GPU recipe is `--env gpu`.\n"
    )
    sections = [dataset_section(k, v, results) for k, v in manifest.items()]
    return "\n".join([header, *sections])


def main() -> None:
    """Write the page (or print it without ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    page = build_page(yaml.safe_load(args.manifest.read_text()), args.results)
    if args.out is None:
        print(page)  # noqa: T201 - a command-line report
        return
    args.out.write_text(page)
    logger.info("Wrote %s", args.out)


if __name__ == "__main__":
    main()
