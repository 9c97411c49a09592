"""The faster host-side paths of rerank scoring give the results of the old ones.

Each test keeps the previous implementation as a reference and compares exactly:
past questions (per-question word sets computed once), the padded batch
(built with numpy instead of row by row) and the ranking (read from arrays instead
of a DataFrame per agenda).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from expert_kedro.recommender.fusion import fuse, order_with_tail
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.scoring.suffix_batches import batch_inputs
from expert_kedro.training_data.expert_history import ExpertHistory, _words

WORDS = ["pumps", "Germany", "LATAM", "lithium", "pricing", "GCC", "tender", "the"]


def _old_questions(train_pairs, expert_id, agenda, n, exclude_project=None):
    """ExpertHistory.questions as it was: words recomputed per call."""
    history: dict[int, list[tuple[int, str]]] = {}
    seen: set[tuple[int, int]] = set()
    for project_id, e, past in train_pairs[
        ["project_id", "expert_id", "agenda"]
    ].itertuples(index=False):
        if (int(project_id), int(e)) in seen:
            continue
        seen.add((int(project_id), int(e)))
        history.setdefault(int(e), []).extend((int(project_id), str(q)) for q in past)
    if n <= 0:
        return []
    agenda_words = _words(" ".join(agenda))
    own = {" ".join(q.lower().split()) for q in agenda}
    scored: dict[str, tuple[int, int]] = {}
    for order, (project_id, question) in enumerate(history.get(int(expert_id), [])):
        key = " ".join(question.lower().split())
        if project_id == exclude_project or key in own or question in scored:
            continue
        scored[question] = (-len(_words(question) & agenda_words), order)
    return sorted(scored, key=scored.__getitem__)[:n]


QUESTION = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(
    lambda words: " ".join(words) + "?"
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 4),
            st.integers(100, 102),
            st.lists(QUESTION, min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=8,
    ),
    agenda=st.lists(QUESTION, min_size=1, max_size=3),
    n=st.integers(0, 5),
    exclude=st.sampled_from([None, 1, 2]),
)
def test_history_questions_match_the_uncached_ranking(rows, agenda, n, exclude):
    pairs = pd.DataFrame(rows, columns=["project_id", "expert_id", "agenda"])
    history = ExpertHistory(pairs)
    for expert_id in (100, 101, 102, 999):
        assert history.questions(expert_id, agenda, n, exclude) == _old_questions(
            pairs, expert_id, agenda, n, exclude
        )


def _old_batch_inputs(prefix_length, suffixes, pad_id):
    """batch_inputs' ids and mask as they were built: one row at a time."""
    width = max(len(s) for s in suffixes)
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(suffixes), prefix_length + width), dtype=torch.long)
    mask[:, :prefix_length] = 1
    for row, suffix in enumerate(suffixes):
        ids[row, : len(suffix)] = torch.tensor(list(suffix), dtype=torch.long)
        mask[row, prefix_length : prefix_length + len(suffix)] = 1
    return ids, mask


@pytest.mark.parametrize("prefix_length", [0, 3])
@pytest.mark.parametrize(
    "suffixes", [[[5]], [[1, 2, 3], [4], [7, 8]], [[9, 9], [9, 9]], [(3, 4), [5]]]
)
def test_padded_batch_matches_row_by_row(prefix_length, suffixes):
    model = torch.nn.Linear(1, 1)
    got = batch_inputs(model, None, prefix_length, suffixes, pad_id=2)
    ids, mask = _old_batch_inputs(prefix_length, suffixes, 2)
    assert torch.equal(got["input_ids"], ids)
    assert torch.equal(got["attention_mask"], mask)
    assert got["input_ids"].dtype == got["attention_mask"].dtype == torch.long


class _Retriever:
    name = "fixed"

    def __init__(self, expert_ids: np.ndarray) -> None:
        self.expert_ids = expert_ids

    def score_all(self, agendas):
        rng = np.random.default_rng(len(agendas))
        scores = rng.normal(size=(len(agendas), len(self.expert_ids)))
        scores[:, 1] = scores[:, 2]  # a tie, broken by roster order
        return scores


class _Scorer:
    def yes_no_scores_grouped(self, system, groups, cases):
        return [
            np.array([(len(u) * 37 % 11) - 5.0 for u in group], dtype=float)
            for group in groups
        ]


@pytest.fixture
def ranker() -> RerankRanker:
    ids = list(range(200, 212))
    roster = pd.DataFrame(
        {
            "expert_id": ids,
            "expert_name": [f"Expert {e}" for e in ids],
            "expert_headline": "Head",
            "expert_bio": [f"Bio {'x' * e}" for e in range(len(ids))],
            "expert_work_summary": "Work.",
            "expert_location": "Berlin, Germany",
            "expert_industry": "Industrials",
            "expert_skills": [["Sourcing"] for _ in ids],
        }
    )
    return RerankRanker(
        _Scorer(),
        Roster(roster),
        _Retriever(np.array(ids)),
        "system",
        candidates=5,
        retrieval_weight=0.3,
        history=None,
        history_questions=0,
        candidate_region=False,
        agenda_region=False,
    )


def test_ranking_from_arrays_matches_the_candidate_tables(ranker):
    agendas = [["Q1 pumps?"], ["Q2 lithium in Chile?", "Q3?"], ["Q4 GCC?"]]
    cases = ["a", "b", "c"]
    got = ranker.rank_many_with_scores(agendas, 7, cases)
    want = []
    for table, tail in ranker.candidate_tables(agendas, cases):
        fused = fuse(
            table["retrieval_score"].to_numpy(),
            table["llm_score"].to_numpy(),
            ranker.retrieval_weight,
        )
        ids, scores = order_with_tail(table["expert_id"].tolist(), fused, tail)
        want.append((ids[:7], scores[:7]))
    assert got == want
    table, tail = ranker.candidate_tables(agendas[:1], cases[:1])[0]
    assert list(table.columns) == ["expert_id", "retrieval_score", "llm_score"]
    assert table.dtypes.tolist()[1:] == [np.float64, np.float64]
    # Ids are text (the roster's integers become their decimal text).
    assert all(type(e) is str for e in [*table["expert_id"].tolist(), *tail])
