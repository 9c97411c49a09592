"""How much of the hybrid retriever's top-1 error is a region mismatch? (analysis)

Reads the evaluation's saved hybrid rankings (``baseline_rankings``, written by
``kedro run --pipeline=evaluation``) and re-orders each project's top 5 with a crude
rule: experts whose roster region (``expert_kedro.regions``) is named in the agenda
(a country of the table or a region word) first, retrieval order otherwise. Not a
system of the project: an upper-bound style probe of the signal the reranker should
learn from the candidate's ``Region:`` line. Run from the project root::

    python benchmarks/region_headroom.py
"""

from __future__ import annotations

import json
import re

import pandas as pd

from expert_kedro.regions import COUNTRY_REGION, expert_region

REGION_WORDS = {
    "North America": ["north america", "north american", "u.s.", "us", "american"],
    "Europe": ["europe", "european", "emea", "dach", "benelux", "nordics", "uk", "cee"],
    "APAC": ["apac", "asia", "asian", "asean", "southeast asia", "asia-pacific"],
    "Latin America": ["latin america", "latam", "south america", "andean"],
    "Middle East": ["middle east", "gcc", "gulf", "mena", "uae", "abu dhabi", "dubai"],
}


def agenda_regions(agenda: list[str]) -> set[str]:
    """Regions named in an agenda (country names of the table or region words)."""
    text = " " + " ".join(agenda).lower() + " "
    words = {c.lower(): r for c, r in COUNTRY_REGION.items()}
    for region, names in REGION_WORDS.items():
        words.update({name: region for name in names})
    return {
        region
        for word, region in words.items()
        if re.search(r"(?<![\w.])" + re.escape(word) + r"(?![\w])", text)
    }


def main() -> None:
    roster = pd.read_parquet("data/03_primary/expert_roster.parquet")
    region = dict(zip(roster.expert_id, roster.expert_location.map(expert_region)))
    rankings = pd.read_parquet("data/07_model_output/baseline_rankings.parquet")
    report = {}
    for split in ("validation", "test"):
        projects = pd.read_parquet(f"data/03_primary/{split}_projects.parquet")
        acceptable = dict(zip(projects.project_id, projects.acceptable_expert_ids))
        agendas = dict(zip(projects.project_id, projects.agenda))
        hybrid = rankings[
            (rankings.system == "hybrid")
            & (rankings.split == split)
            & (rankings.variant == "full")
        ]
        hits = {"hybrid": 0, "region_rule": 0, "agenda_names_a_region": 0}
        for project_id, group in hybrid.groupby("project_id"):
            top = group.sort_values("rank").expert_id.head(5).tolist()
            named = agenda_regions(list(agendas[project_id]))
            rule = sorted(top, key=lambda e: (region.get(e) not in named, top.index(e)))
            hits["hybrid"] += top[0] in set(acceptable[project_id])
            hits["region_rule"] += rule[0] in set(acceptable[project_id])
            hits["agenda_names_a_region"] += bool(named)
        n = hybrid.project_id.nunique()
        report[split] = {"projects": n, **{k: round(v / n, 3) for k, v in hits.items()}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
