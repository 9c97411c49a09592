"""The retrieval baselines of the evaluation, ranked and timed.

The baselines are the saved index's own retrievers (popularity, BM25, dense and the
tuned hybrid), fit once on the TRAIN split by the retrieval pipeline; here they only
rank, and the time each takes is recorded beside its fit time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from expert_kedro.evaluation.rankings import rank_with_retriever
from expert_kedro.retrieval import PRIOR_SYSTEM, RetrievalIndex

# (split, variant, projects) ranked by every baseline.
Job = tuple[str, str, pd.DataFrame]


def rank_and_time_baselines(
    checked_retrieval_index: RetrievalIndex, jobs: Sequence[Job], depth: int | None
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Rankings of every baseline retriever for every job, and their timings.

    Args:
        checked_retrieval_index: The leak-checked retrieval index.
        jobs: ``(split, variant, projects)`` to rank.
        depth: Experts kept per project (None: the whole roster).

    Returns:
        ``(rankings, timings)``: the rankings table and, per system, fit seconds
        (recorded when the index was built), scoring seconds and agendas scored,
        plus the dense encoder's query throughput.
    """
    frames: list[pd.DataFrame] = []
    timings: dict[str, dict[str, float]] = {}
    fit = dict(checked_retrieval_index.fit_seconds)
    fit["hybrid"] = fit[PRIOR_SYSTEM] = fit.get("bm25", 0.0) + fit.get("dense", 0.0)
    encoder = checked_retrieval_index.dense.encoder
    texts_before, seconds_before = encoder.texts_encoded, encoder.encode_seconds
    for name, retriever in checked_retrieval_index.retrievers().items():
        start = time.perf_counter()
        for split, variant, projects in jobs:
            frames.append(
                rank_with_retriever(
                    retriever, projects, split=split, variant=variant, depth=depth
                )
            )
        timings[name] = {
            "fit_seconds": round(float(fit.get(name, 0.0)), 3),
            "score_seconds": round(time.perf_counter() - start, 3),
            "n_agendas_scored": sum(len(projects) for _, _, projects in jobs),
        }
    # Agenda embeddings are cached: hybrid reuses dense's. The encoder's own
    # throughput gives the cold cost.
    texts = encoder.texts_encoded - texts_before
    seconds = encoder.encode_seconds - seconds_before
    timings["dense_query_encoding"] = {
        "texts": texts,
        "seconds": round(seconds, 3),
        "texts_per_second": round(texts / seconds, 1) if seconds > 0 else None,
    }
    return pd.concat(frames, ignore_index=True), timings
