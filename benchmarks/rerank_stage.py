"""Prepare the inputs of ``rerank_formulations.py`` (CPU, from a project's data/).

Writes, into the stage folder: the roster, validation/test projects, hybrid
retriever scores of every roster expert for each validation/test agenda (the
retriever of the evaluation, fit on TRAIN only), and rerank training/validation
examples for each candidate-history setting.

    python benchmarks/rerank_stage.py <project_dir> <stage_dir>
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from expert_kedro.identifiers import as_id, as_id_list
from expert_kedro.pipelines.rerank_pairs.nodes import _acceptable, training_pairs
from expert_kedro.recommender.grounding import roster_lookup
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import build_retrievers, top_k
from expert_kedro.training_data.rerank_pairs import ExpertHistory, build_rerank_examples


def _latest(project: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(
        sorted(glob.glob(str(project / "data" / "*" / name / "*" / "*")))[-1]
    )


def main(project: Path, stage: Path) -> None:
    stage.mkdir(parents=True, exist_ok=True)
    conf = project / "conf" / "base"
    retrieval = yaml.safe_load((conf / "parameters_retrieval.yml").read_text())[
        "retrieval"
    ]
    rp = yaml.safe_load((conf / "parameters_rerank_pairs.yml").read_text())[
        "rerank_pairs"
    ]
    settings = RecommenderSettings.from_params(
        yaml.safe_load((conf / "parameters.yml").read_text())["recommender"]
    )
    roster = _latest(project, "expert_roster.parquet")
    train = _latest(project, "train_pairs.parquet")
    augmented = _latest(project, "augmented_train_pairs.parquet")
    validation_pairs = _latest(project, "validation_pairs.parquet")
    vproj = _latest(project, "validation_projects.parquet")
    tproj = _latest(project, "test_projects.parquet")
    matches = _latest(project, "clean_matches.parquet")
    hybrid = build_retrievers(
        roster, train, retrieval, validation_projects=vproj, train_answers=matches
    )["hybrid"]
    roster.to_parquet(stage / "roster.parquet")
    train.to_parquet(stage / "train_pairs.parquet")
    for name, projects in (("validation", vproj), ("test", tproj)):
        projects.to_parquet(stage / f"{name}_projects.parquet")
        scores = hybrid.score_all([list(a) for a in projects["agenda"]])
        np.save(stage / f"{name}_hybrid_scores.npy", scores)
    # Text ids as a fixed-width string array: np.load reads it without pickle.
    np.save(stage / "expert_ids.npy", np.asarray(hybrid.expert_ids, dtype=str))

    def rank(agendas, project_ids):  # times unused: the benchmark predates recency
        ids, _ = top_k(hybrid.score_all(agendas), hybrid.expert_ids, 15)
        return [as_id_list(row) for row in ids]

    lookup = roster_lookup(roster)
    history = ExpertHistory(train)
    vacc = {
        as_id(p): set(as_id_list(i))
        for p, i in vproj[["project_id", "acceptable_expert_ids"]].itertuples(
            index=False
        )
    }
    for n_hist in (0, 4):
        common = dict(
            system=settings.rerank_system_prompt,
            n_hard=int(rp["hard_negatives"]),
            n_random=int(rp["random_negatives"]),
            seed=int(rp["seed"]),
            history=history,
            history_questions=n_hist,
        )
        tr, _ = build_rerank_examples(
            training_pairs(train, augmented), lookup, _acceptable(train), rank, **common
        )
        va, _ = build_rerank_examples(validation_pairs, lookup, vacc, rank, **common)
        tr.to_parquet(stage / f"rerank_train_h{n_hist}.parquet")
        va.to_parquet(stage / f"rerank_validation_h{n_hist}.parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
