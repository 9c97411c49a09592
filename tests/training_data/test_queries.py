"""Query keys of training examples, and samples of whole queries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expert_kedro.training_data.queries import (
    query_key,
    query_keys,
    sample_whole_queries,
)


def _examples() -> pd.DataFrame:
    """Rerank-like examples: 10 queries of 2-5 candidates, yes first."""
    rows = []
    for q in range(10):
        agenda = [f"Question {q} one?", f"Question {q} two?"]
        if q % 3 == 2:  # a partial agenda of the previous project: its own query
            agenda = agenda[:1]
        for c in range(2 + q % 4):
            rows.append(
                {
                    "project_id": str(100 + q - (q % 3 == 2)),
                    "agenda": agenda,
                    "expert_id": str(c),
                    "output": "yes" if c == 0 else "no",
                }
            )
    return pd.DataFrame(rows)


def test_a_query_is_its_project_and_agenda():
    agenda = ["How do pumps sell?", "Who buys them?"]
    key = query_key(7, agenda)
    assert key == query_key("7", np.array(agenda, dtype=object))  # parquet arrays
    assert key.startswith("7/")
    assert key != query_key(8, agenda)
    assert key != query_key(7, agenda[:1])
    assert key != query_key(7, ["How do pumps sell? Who buys them?"])
    keys = query_keys(_examples())
    assert keys.nunique() == 10
    with pytest.raises(ValueError, match="agenda"):
        query_keys(_examples().drop(columns="agenda"))


def test_a_sample_keeps_whole_queries_within_the_limit():
    examples = _examples()
    sizes = query_keys(examples).value_counts()
    sample = sample_whole_queries(examples, 12, seed=3)
    assert 0 < len(sample) <= 12
    kept = query_keys(sample).value_counts()
    # Every query kept has all its examples, so its yes and its no.
    assert (kept == sizes[kept.index]).all()
    assert set(sample.groupby(query_keys(sample))["output"].agg(frozenset)) == {
        frozenset({"yes", "no"})
    }
    pd.testing.assert_frame_equal(sample, sample_whole_queries(examples, 12, seed=3))
    other = sample_whole_queries(examples, 12, seed=4)
    assert set(query_keys(other)) != set(query_keys(sample))


def test_a_limit_below_the_first_query_still_keeps_that_query():
    examples = _examples()
    sample = sample_whole_queries(examples, 1, seed=0)
    assert query_keys(sample).nunique() == 1
    assert len(sample) >= 2
