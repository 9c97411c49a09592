"""The toy roster with a project-id timeline, for the Activity line's tests.

Toy projects 1001-1007 are answered by, in id order: 101, 101, 202, 202, 202, 303,
404; validation project 1008 (after all of them) by 303.
"""

from __future__ import annotations

import pandas as pd

from expert_kedro.retrieval import (
    RetrievalSettings,
    Timeline,
    build_expert_documents,
    fit_retrieval_index,
    tune_retrieval_index,
)
from expert_kedro.training_data.rerank_pairs import PAIR_COLUMNS
from tests.retrieval.toy_roster import make_toy_roster, make_toy_train_pairs

ROSTER = make_toy_roster().astype({"expert_id": str})
AGENDA = ["Who runs hospital tenders for infusion pumps?"]


def toy_pairs() -> pd.DataFrame:
    """Training pairs with text ids and the pair columns."""
    return make_toy_train_pairs().assign(
        project_id=lambda f: f["project_id"].astype(str),
        expert_id=lambda f: f["expert_id"].astype(str),
        system="gen",
        input="x",
        output="y",
        source="original",
    )


def toy_index(pairs: pd.DataFrame):
    """The toy roster's real index with a project-id timeline."""
    settings = RetrievalSettings.from_params(
        {
            "hybrid": {"bm25_weight": 0.4},
            "prior": {"weight": 0.0},
            "recency": {"time_from": "project_id", "window": 2, "weight": 0.5},
        }
    )
    timeline = Timeline.from_pairs(
        pairs, pairs, ROSTER["expert_id"].tolist(), "project_id"
    )
    documents = build_expert_documents(ROSTER, pairs, timeline=timeline)
    return tune_retrieval_index(fit_retrieval_index(documents, settings), None)


def toy_validation() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validation pairs and projects of project 1008."""
    pairs = pd.DataFrame(
        [
            {
                "project_id": "1008",
                "expert_id": "303",
                "agenda": AGENDA,
                "system": "gen",
                "input": "x",
                "output": "y",
                "source": "original",
            }
        ],
        columns=list(PAIR_COLUMNS),
    )
    projects = pd.DataFrame(
        {"project_id": ["1008"], "acceptable_expert_ids": [["303"]], "agenda": [AGENDA]}
    )
    return pairs, projects
