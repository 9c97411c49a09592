"""How much of the hybrid retriever's top-1 error is a region mismatch? (analysis)

Reads the evaluation's saved hybrid rankings (``baseline_rankings``, written by
``kedro run --pipelines=evaluation``) and re-orders each project's top 5 with a crude
rule: experts whose roster region
(``expert_kedro.training_data.regions.expert_region``) is named in the agenda
(``agenda_regions``: countries, region words, places) first, retrieval order
otherwise. Not a system of the project: an upper-bound style probe of the signal
the reranker should learn from the candidate's ``Region:`` line. Run from the
project root::

    python benchmarks/region_headroom.py
"""

from __future__ import annotations

import json

import pandas as pd

from expert_kedro.training_data.regions import agenda_regions, expert_region


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
            named = set(agenda_regions(list(agendas[project_id])))
            rule = sorted(top, key=lambda e: (region.get(e) not in named, top.index(e)))
            hits["hybrid"] += top[0] in set(acceptable[project_id])
            hits["region_rule"] += rule[0] in set(acceptable[project_id])
            hits["agenda_names_a_region"] += bool(named)
        n = hybrid.project_id.nunique()
        report[split] = {"projects": n, **{k: round(v / n, 3) for k, v in hits.items()}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
