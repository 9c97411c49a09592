"""Does the tags line of the import (``stackexchange.topics_line``) help the stage?

The import can put a question's tags after its title as one agenda item
(``Topics: mysql, replication``). This script compares the test rankings of the
evaluation baselines between two copies of the project (clones of one commit) that
ran the same pipelines on the same site, one imported without the line
(``--without``) and one with it (``--with-topics``): in each,
``kedro run --env stackexchange --pipelines=stackexchange_import --params
stackexchange.site=<site>`` (with ``,stackexchange.topics_line=true`` in the
second), then ``--pipelines=data_processing,retrieval,evaluation``. The line changes the
agendas, so the split is checked to hold the same test projects; each system's
weights are tuned on validation in its own run. Paired bootstrap CI of the test
MRR difference per system::

    python benchmarks/topics_line.py --without /tmp/plain --with-topics /tmp/topics \\
        --sites dba history android --out benchmarks/results/topics_line_cpu.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
from project_data import load_saved
from run_record import provenance, run_record, write_results

from expert_kedro.evaluation.metrics import bootstrap_summary, per_project_metrics
from expert_kedro.identifiers import as_id, as_id_list

SYSTEMS = ("bm25", "dense", "hybrid", "hybrid+prior")
N_BOOT, SEED = 2000, 2026
COMMAND = (
    "python benchmarks/topics_line.py --without <clone> --with-topics <clone> "
    "--sites {sites} "
    "--out {out}"
)


def per_project_mrr(data: dict[str, Any]) -> dict[str, pd.Series]:
    """Per system, the test projects' MRR (full agendas), indexed by project."""
    table = data["test_projects"]
    acceptable = dict(
        zip(
            table["project_id"].map(as_id),
            table["acceptable_expert_ids"].map(as_id_list),
            strict=True,
        )
    )
    rankings = data["baseline_rankings"]
    rankings = rankings[(rankings["split"] == "test") & (rankings["variant"] == "full")]
    result = {}
    for system in SYSTEMS:
        rows = rankings[rankings["system"] == system].sort_values("rank")
        lists = {
            as_id(p): g["expert_id"].map(as_id).tolist()
            for p, g in rows.groupby("project_id")
        }
        ids = sorted(lists)
        values = per_project_metrics(
            [lists[p] for p in ids], [acceptable[p] for p in ids]
        )["mrr"]
        result[system] = pd.Series(values.to_numpy(), index=ids)
    return result


def site_result(site: str, plain: Path, topics: Path) -> dict[str, Any]:
    """Test MRR of each system without and with the line, and the paired gain."""
    names = ["test_projects", "baseline_rankings"]
    without = per_project_mrr(load_saved(site, names, root=plain)[0])
    with_line = per_project_mrr(load_saved(site, names, root=topics)[0])
    out = {}
    for system in SYSTEMS:
        a, b = without[system], with_line[system]
        if set(a.index) != set(b.index):
            raise ValueError(f"{site}: the two runs' test splits differ.")
        gain = b - a.loc[b.index]
        ci = bootstrap_summary(pd.DataFrame({"g": gain.to_numpy()}), N_BOOT, SEED)
        out[system] = {
            "without": float(a.mean()),
            "with": float(b.mean()),
            "gain": float(gain.mean()),
            "gain_ci": [ci["g"]["ci_low"], ci["g"]["ci_high"]],
        }
    return {"n_test": len(without[SYSTEMS[0]]), "systems": out}


def report(results: dict[str, Any]) -> str:
    """The markdown report."""
    lines = [
        "# The question's tags as an agenda line: the candidate stage",
        "",
        provenance(results) + " Test split, full agendas; each run tuned its own "
        "weights on validation.",
        "",
        "| Site (test projects) | System | MRR without | MRR with | "
        "With - without [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for site, r in results["sites"].items():
        for system, m in r["systems"].items():
            low, high = m["gain_ci"]
            lines.append(
                f"| {site} ({r['n_test']}) | {system} | {m['without']:.3f} | "
                f"{m['with']:.3f} | {m['gain']:+.3f} [{low:+.3f}, {high:+.3f}] |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--without", type=Path, required=True)
    parser.add_argument("--with-topics", type=Path, required=True)
    parser.add_argument("--sites", nargs="+", default=["dba", "history", "android"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = {
        **run_record(COMMAND.format(sites=" ".join(args.sites), out=args.out)),
        "sites": {
            s: site_result(s, args.without, args.with_topics) for s in args.sites
        },
    }
    write_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
