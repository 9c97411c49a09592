"""Hard negatives drawn from the candidate list (``rerank_pairs.negative_pool``).

A tiny Stack Exchange-like site: one very active answerer that the retriever ranks
near the top for every question, and a few occasional ones. Taking the best-ranked
non-acceptable experts makes the active answerer a negative of almost every agenda;
drawing from the candidate list makes it one no more often than the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expert_kedro.training_data.rerank_pairs import build_rerank_examples, negatives_for
from expert_kedro.training_data.settings import RerankPairsSettings

ACTIVE = "7"
ROSTER_IDS = [str(e) for e in range(1, 11)]


def _profile(expert_id: str) -> dict:
    return {
        "expert_id": expert_id,
        "expert_name": f"site user {expert_id}",
        "expert_headline": "Answers site questions on sql",
        "expert_location": "",
        "expert_industry": "",
        "expert_skills": ["sql"],
        "expert_bio": "Answered 3 question(s).",
        "expert_work_summary": "Earliest answered questions: q",
    }


ROSTER = {e: _profile(e) for e in ROSTER_IDS}


def _site() -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """Twelve questions, each answered by one occasional answerer (1..6)."""
    rows = [
        {
            "project_id": str(100 + p),
            "expert_id": str(1 + p % 6),
            "agenda": [f"question {p} about indexes", f"body {p}"],
            "system": "s",
            "input": "x",
            "output": "y",
            "source": "original",
        }
        for p in range(12)
    ]
    pairs = pd.DataFrame(rows)
    acceptable = {r["project_id"]: {r["expert_id"]} for r in rows}
    return pairs, acceptable


def _rank(agendas, project_ids=()):
    # The active answerer right after the true one (top of every list), then the
    # others in a fixed order: the retriever's top 6 is the candidate list.
    ranked = []
    for agenda in agendas:
        own = str(1 + int(agenda[0].split()[1]) % 6)
        rest = [e for e in ROSTER_IDS if e not in {own, ACTIVE}]
        ranked.append([own, ACTIVE, *rest])
    return ranked


def _negative_counts(pool: int | None) -> pd.Series:
    pairs, acceptable = _site()
    examples, stats = build_rerank_examples(
        pairs,
        ROSTER,
        acceptable,
        _rank,
        system="rerank?",
        n_hard=2,
        n_random=0,
        seed=5,
        pool=pool,
    )
    assert stats["hard"] == 2 * len(acceptable)
    return examples.loc[examples["output"] == "no", "expert_id"].value_counts()


def test_best_ranked_negatives_always_hold_the_active_answerer():
    counts = _negative_counts(pool=None)
    assert counts[ACTIVE] == 12  # a "no" for every question


def test_pool_negatives_spread_over_the_candidate_list():
    counts = _negative_counts(pool=6)
    # 2 of the 5 wrong candidates per question: the active answerer about 12 * 2/5
    # times, and only candidates of the top 6 are ever drawn.
    assert counts[ACTIVE] < 12
    assert set(counts.index) <= set(ROSTER_IDS[:7])
    assert counts.sum() == 24


def test_pool_draw_is_seeded_and_in_rank_order():
    ranked = ["1", "2", "3", "4", "5", "6", "8"]
    draw = [
        negatives_for(
            ranked,
            {"1"},
            n_hard=3,
            n_random=0,
            roster_ids=ROSTER_IDS,
            rng=np.random.default_rng(1),
            pool=5,
        )
        for _ in range(2)
    ]
    assert draw[0] == draw[1]
    ids = [e for e, kind in draw[0] if kind == "hard"]
    assert len(ids) == 3
    assert set(ids) <= {"2", "3", "4", "5"}
    assert ids == sorted(ids, key=ranked.index)


def test_pool_smaller_than_the_count_takes_every_wrong_candidate():
    negatives = negatives_for(
        ["1", "2", "3"],
        {"2"},
        n_hard=19,
        n_random=1,
        roster_ids=ROSTER_IDS,
        rng=np.random.default_rng(0),
        pool=3,
    )
    assert [e for e, kind in negatives if kind == "hard"] == ["1", "3"]
    randoms = [e for e, kind in negatives if kind == "random"]
    assert len(randoms) == 1
    assert randoms[0] not in {"1", "2", "3"}


def test_without_pool_the_best_ranked_are_taken():
    negatives = negatives_for(
        ["1", "2", "3", "4"],
        {"1"},
        n_hard=2,
        n_random=0,
        roster_ids=ROSTER_IDS,
        rng=np.random.default_rng(0),
    )
    assert negatives == [("2", "hard"), ("3", "hard")]


@pytest.mark.parametrize("pool", [0, -3])
def test_pool_must_be_positive(pool):
    with pytest.raises(ValueError, match="negative_pool"):
        RerankPairsSettings.from_params({"negative_pool": pool})
