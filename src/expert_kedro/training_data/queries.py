"""Training queries: the (project, agenda) whose candidates a rerank example judges.

:func:`~expert_kedro.training_data.rerank_pairs.build_rerank_examples` turns each
distinct (project, agenda) of the pairs into one query: its experts answer "yes",
the retriever's other candidates "no". The listwise ranking loss
(:mod:`expert_kedro.modeling.ranking_loss`) compares the candidates of one query,
so the examples carry a stable key of their query (:func:`query_key`) from the
pairs to the tokenized dataset and into the training batches, and a sample of
training examples takes whole queries (:func:`sample_whole_queries`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id

logger = logging.getLogger(__name__)

QUERY_COLUMN = "query"
"""Column of the tokenized examples holding their query key."""


def query_key(project_id: Any, agenda: Iterable[Any]) -> str:
    """The key of a query: its project and a digest of its agenda's questions.

    The same (project, agenda) always gets the same key, whatever the row order or
    the process; a partial agenda of a project is a query of its own, as in
    :func:`~expert_kedro.training_data.rerank_pairs.build_rerank_examples`.

    Args:
        project_id: The project.
        agenda: Its questions (a list, or the array a parquet file returns).

    Returns:
        ``"<project_id>/<16 hex digits>"``.
    """
    text = "\x1f".join(str(question) for question in agenda)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
    return f"{as_id(project_id)}/{digest}"


def query_keys(pairs: pd.DataFrame) -> pd.Series:
    """:func:`query_key` of every row of a pairs table (``project_id``, ``agenda``).

    Raises:
        ValueError: If the table has no ``agenda`` column.
    """
    if "agenda" not in pairs.columns:
        raise ValueError(
            "The pairs lack the 'agenda' column that names each example's query "
            "(see the rerank_pairs contract)."
        )
    rows = zip(pairs["project_id"], pairs["agenda"], strict=True)
    return pd.Series(
        [query_key(project, agenda) for project, agenda in rows],
        index=pairs.index,
        dtype=object,
    )


def sample_whole_queries(pairs: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    """A seeded sample of at most ``limit`` rows made of whole queries.

    The queries are shuffled with ``seed`` and taken while their examples fit in
    ``limit`` (the first query always, even if it is larger), so every query kept
    has all its positives and negatives. Rows keep their order in ``pairs``.

    Args:
        pairs: Pairs with ``project_id`` and ``agenda``.
        limit: Most rows wanted.
        seed: Seed of the shuffle.

    Returns:
        The sampled rows, index reset.
    """
    keys = query_keys(pairs)
    sizes = keys.value_counts()
    names = sorted(sizes.index)
    order = np.random.default_rng(seed).permutation(len(names))
    shuffled = [names[i] for i in order]
    counts = sizes.loc[shuffled].to_numpy()
    taken = max(1, int(np.searchsorted(np.cumsum(counts), limit, side="right")))
    chosen = set(shuffled[:taken])
    sample = pairs[keys.isin(chosen)].reset_index(drop=True)
    logger.info(
        "Seeded sample of whole queries: %d of %d queries (%d of %d pairs)",
        len(chosen),
        len(names),
        len(sample),
        len(pairs),
    )
    return sample
