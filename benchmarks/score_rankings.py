"""Score saved rankings tables with the evaluation's own metric code (no model run).

For rankings made elsewhere (e.g. ``llm_rankings`` of an ``evaluation_llm`` run on
the GPU machine, copied here): loads the split, the baselines' rankings and the
hybrid tuning (latest ``evaluation_metrics``) from this project's catalog
(``kedro run --pipelines=evaluation`` first), adds the given files, and runs
``compute_evaluation_metrics`` and the results table as the pipeline does. The
rankings must come from the same split (same data, same ``data_processing`` seed).
Run from the project root::

    python benchmarks/score_rankings.py \
        benchmarks/results/llm_rankings_h200_region_compare.parquet \
        --out benchmarks/results/evaluation_h200_region_compare
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.evaluation.reporting import (
    compact_table,
    render_results_table,
)
from expert_kedro.pipelines.evaluation.nodes import compute_evaluation_metrics

CATALOG_INPUTS = (
    "expert_roster",
    "train_pairs",
    "validation_projects",
    "test_projects",
    "partial_test_projects",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rankings", nargs="+", help="parquet rankings tables")
    parser.add_argument("--out", required=True, help="output prefix (.json, .md)")
    args = parser.parse_args()
    bootstrap_project(Path.cwd())
    with KedroSession.create(project_path=Path.cwd()) as session:
        context = session.load_context()
        inputs = [context.catalog.load(name) for name in CATALOG_INPUTS]
        baselines = context.catalog.load("baseline_rankings")
        # The hybrid's tuning and the timings are memory datasets of that run:
        # its saved report carries them.
        latest = context.catalog.load("evaluation_metrics")
        params = context.params["evaluation"]
    extra = [pd.read_parquet(path) for path in args.rankings]
    metrics = compute_evaluation_metrics(
        *inputs,
        latest["hybrid"],
        latest["timing_seconds"],
        params,
        baselines,
        *extra,
    )
    metrics["rankings_files"] = [str(path) for path in args.rankings]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(metrics, indent=2))
    out.with_suffix(".md").write_text(render_results_table(metrics))
    print(compact_table(metrics))  # noqa: T201 - a command-line report


if __name__ == "__main__":
    main()
