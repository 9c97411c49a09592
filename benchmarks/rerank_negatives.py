"""What the rerank training pairs teach about each expert, against inference (CPU).

The fine-tuned reranker tells roster experts apart by their name and profile, so
among the things it can learn is each expert's yes-rate in its training pairs. This
script measures, for rerank pairs already built by the ``rerank_pairs`` pipeline:

1. the composition of the pairs (queries, yes share) and the loss a model that
   always answers with the training yes-rate reaches on the validation pairs, per
   completion token (the answer, ``<|im_end|>`` and a newline: three tokens, two of
   them trivial, so the logged loss is about a third of the yes/no loss);
2. each expert's yes-rate in the training pairs by how many training projects the
   expert answered;
3. the MRR of the candidate stage's top ``K`` of the validation and test projects
   ranked by that yes-rate alone (what a model that learned only who is who would
   do), beside the candidate stage itself and a random order.

Run on a built site (``stackexchange_import``, ``data_processing``, ``retrieval``,
``augmentation``, ``rerank_pairs``), e.g.::

    python benchmarks/rerank_negatives.py --env stackexchange --site dba
    python benchmarks/rerank_negatives.py --env stackexchange --site dba \\
        --train-pairs data/04_feature/.../rerank_train_pairs.parquet/<version>/...
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger("rerank_negatives")
ROOT = Path(__file__).resolve().parents[1]
COMPLETION_TOKENS = 3
BOOKING_BINS = [-1, 0, 2, 5, 10, 20, 10**6]


def _catalog(env: str, site: str):
    """The project's catalog under ``env`` (``stackexchange.site`` set to ``site``)."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(ROOT)
    params = {"stackexchange": {"site": site}} if "stackexchange" in env else {}
    session = KedroSession.create(project_path=ROOT, env=env, runtime_params=params)
    return session.load_context().catalog


def _yes_rates(pairs: pd.DataFrame) -> pd.DataFrame:
    table = pairs.groupby("expert_id")["output"].agg(
        yes=lambda s: int((s == "yes").sum()), n="size"
    )
    table["rate"] = table["yes"] / table["n"]
    return table


def _mrr(scores: list[np.ndarray], lists: list[list[str]], acceptable, seed=0):
    """MRR of each candidate list ordered by its scores (ties in random order)."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for score, ids, ok in zip(scores, lists, acceptable, strict=True):
        order = np.lexsort((rng.random(len(ids)), -np.asarray(score, float)))
        total += next((1 / r for r, j in enumerate(order, 1) if ids[j] in ok), 0.0)
    return total / max(len(lists), 1)


def composition(train: pd.DataFrame, validation: pd.DataFrame) -> dict:
    """Queries, yes shares and the constant predictor's loss per completion token."""
    p = float((train["output"] == "yes").mean())
    q = float((validation["output"] == "yes").mean())
    loss = -(q * math.log(p) + (1 - q) * math.log(1 - p))
    queries = train.assign(key=train["agenda"].map(tuple)).groupby(
        ["project_id", "key"]
    )
    return {
        "train_examples": len(train),
        "train_queries": queries.ngroups,
        "train_yes_share": round(p, 3),
        "validation_examples": len(validation),
        "validation_yes_share": round(q, 3),
        "constant_yes_no_loss": round(loss, 3),
        "constant_loss_per_completion_token": round(loss / COMPLETION_TOKENS, 3),
    }


def rates_by_bookings(rates: pd.DataFrame, train_pairs: pd.DataFrame) -> list[dict]:
    """Mean yes-rate and appearances of the experts, by training projects answered."""
    bookings = train_pairs.groupby("expert_id")["project_id"].nunique()
    table = rates.join(bookings.rename("bookings"), how="left").fillna(0)
    grouped = table.groupby(pd.cut(table["bookings"], BOOKING_BINS), observed=True)
    return [
        {
            "bookings": str(interval),
            "experts": int(len(group)),
            "yes_rate": round(float(group["rate"].mean()), 3),
            "appearances": round(float(group["n"].mean()), 1),
        }
        for interval, group in grouped
    ]


def ranking(catalog, rates: pd.DataFrame, k: int) -> dict:
    """MRR of the top ``k`` ordered by the candidate stage, the yes-rate, random."""
    index = catalog.load("retrieval_index")
    out = {}
    for split in ("validation_projects", "test_projects"):
        projects = catalog.load(split)
        agendas = [[str(q) for q in a] for a in projects["agenda"]]
        table = index.candidates(agendas, k)
        lists = [
            [str(e) for e in table.loc[table["agenda_index"] == i, "expert_id"]]
            for i in range(len(agendas))
        ]
        retrieval = [
            table.loc[table["agenda_index"] == i, "score"].to_numpy()
            for i in range(len(agendas))
        ]
        ok = [{str(e) for e in ids} for ids in projects["acceptable_expert_ids"]]
        rate = [np.array([rates["rate"].get(e, 0.0) for e in ids]) for ids in lists]
        zeros = [np.zeros(len(ids)) for ids in lists]
        out[split] = {
            "projects": len(lists),
            "candidate_stage_mrr": round(_mrr(retrieval, lists, ok), 3),
            "yes_rate_mrr": round(_mrr(rate, lists, ok), 3),
            "random_mrr": round(_mrr(zeros, lists, ok), 3),
        }
    return out


def main() -> None:
    """Parse the arguments, measure, log and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="stackexchange")
    parser.add_argument("--site", default="dba")
    parser.add_argument("--k", type=int, default=20, help="candidate depth")
    parser.add_argument("--train-pairs", type=Path, default=None)
    parser.add_argument("--validation-pairs", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    catalog = _catalog(args.env, args.site)

    def read(path: Path | None, name: str) -> pd.DataFrame:
        return pd.read_parquet(path) if path else catalog.load(name)

    train = read(args.train_pairs, "rerank_train_pairs")
    validation = read(args.validation_pairs, "rerank_validation_pairs")
    rates = _yes_rates(train)
    report = {
        "composition": composition(train, validation),
        "yes_rate_by_training_projects": rates_by_bookings(
            rates, catalog.load("train_pairs")
        ),
        "ranking_top_k": ranking(catalog, rates, args.k),
    }
    text = json.dumps(report, indent=2)
    logger.info("%s", text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
