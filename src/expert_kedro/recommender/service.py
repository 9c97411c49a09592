"""One recommendation path for the inference pipeline, the evaluation and the CLI.

``loader.load_recommender`` puts these together for inference and the CLI.

* ``agenda_table.parse_agenda_table`` - validate ``case_id`` / ``agenda`` rows
  (clear errors naming the case) and their optional ``as_of``.
* :func:`build_ranker` - the ranker of ``recommender.mode`` (rerank or generative).
* :func:`recommend` - rank every agenda, build the ``recommendations`` rows and the
  latency/throughput metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.recommender.agenda_table import agenda_times
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.grounding import RECOMMENDATION_COLUMNS, Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval.base import ScoringRetriever
from expert_kedro.scoring.progress import agenda_progress
from expert_kedro.scoring.prompt_ids import AgendaTooLongError
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.activity import candidate_activity
from expert_kedro.training_data.formatting import format_agenda, format_expert_line
from expert_kedro.training_data.rerank_pairs import ExpertHistory

logger = logging.getLogger(__name__)


def build_ranker(  # noqa: PLR0913 - the mode's inputs, each optional
    settings: RecommenderSettings,
    scorer: LLMScorer,
    roster: Roster,
    *,
    retriever: ScoringRetriever | None = None,
    train_pairs: pd.DataFrame | None = None,
    generative_system: str = "",
    name: str | None = None,
) -> RerankRanker | GenerativeRanker:
    """The ranker of ``settings.mode``.

    Args:
        settings: Recommender settings. A rerank ranker fuses at
            ``retrieval_weight``, or at ``fallback_retrieval_weight`` while that is
            None (:func:`load_recommender` chooses the weight first; the evaluation
            tunes its own).
        scorer: Loaded model.
        roster: The roster.
        retriever: The ``RetrievalIndex`` (or any fitted scoring retriever over the
            roster) proposing the candidates (rerank mode).
        train_pairs: Training pairs (candidate history, when shown).
        generative_system: System prompt of the generative pairs (generative mode).
        name: System name in reports; default: the ranker's own.

    Raises:
        ValueError: If the mode's inputs are missing.
    """
    named = {"progress": settings.progress_bar, **({"name": name} if name else {})}
    if settings.mode == "generative":
        if not generative_system:
            raise ValueError("Generative mode needs the pairs' system prompt.")
        return GenerativeRanker(scorer, roster, generative_system, **named)
    if retriever is None:
        raise ValueError(
            "Rerank mode needs the retrieval index; build it with "
            "`kedro run --pipelines=retrieval`."
        )
    history = None
    if settings.history_questions:
        if train_pairs is None:
            raise ValueError("recommender.history_questions > 0 needs train_pairs.")
        history = ExpertHistory(train_pairs)
    weight = settings.retrieval_weight
    return RerankRanker(
        scorer,
        roster,
        retriever,
        settings.rerank_system_prompt,
        candidates=settings.candidates,
        retrieval_weight=settings.fallback_retrieval_weight
        if weight is None
        else weight,
        history=history,
        history_questions=settings.history_questions,
        candidate_region=settings.candidate_region,
        agenda_region=settings.agenda_region,
        activity=candidate_activity(
            retriever, settings.candidate_activity, "RerankRanker"
        ),
        **named,
    )


def _generated_text(  # noqa: PLR0913, PLR0917 - the generation's inputs
    scorer: LLMScorer,
    system: str,
    agenda: Sequence[str],
    top: dict[str, Any],
    settings: RecommenderSettings,
    case_id: str,
) -> str:
    """The model's text after the top expert's line (empty when it cannot fit)."""
    try:
        return scorer.generate(
            system,
            format_agenda(agenda),
            prefill=format_expert_line(top["expert_name"], top["expert_id"]) + "\n",
            max_new_tokens=settings.max_new_tokens,
            case=case_id,
        )
    except AgendaTooLongError:
        scorer.fitting.fallback(case_id)
        return ""


def _latency_summary(seconds: Sequence[float], wall: float) -> dict[str, Any]:
    values = np.asarray(seconds, dtype=float)
    return {
        "n_agendas": len(values),
        "latency_p50_s": round(float(np.percentile(values, 50)), 4),
        "latency_p95_s": round(float(np.percentile(values, 95)), 4),
        "latency_max_s": round(float(values.max()), 4),
        "throughput_agendas_per_s": round(len(values) / wall, 4) if wall > 0 else None,
        "wall_time_s": round(wall, 3),
    }


def _add_generated_text(  # noqa: PLR0913, PLR0917 - one agenda's inputs
    case_rows: list[dict[str, Any]],
    ranker: RerankRanker | GenerativeRanker,
    agenda: Sequence[str],
    top_id: str,
    generative_system: str,
    settings: RecommenderSettings,
) -> None:
    """Put the model's text after the top expert's line on the rank-1 row."""
    case_id = case_rows[0]["case_id"] if case_rows else None
    top = ranker.roster.profile(top_id)
    text = _generated_text(
        ranker.scorer, generative_system, agenda, top, settings, case_id
    )
    for row in case_rows:
        row["generated_text"] = text if row["rank"] == 1 else ""


def _rank_in_batches(
    ranker: RerankRanker | GenerativeRanker,
    agendas: pd.DataFrame,
    k: int,
    settings: RecommenderSettings,
    text_system: str | None,
) -> tuple[list[dict[str, Any]], list[float]]:
    """Recommendation rows and per-agenda latencies, ``agenda_batch`` at a time.

    ``text_system``: the generative system prompt when ``generated_text`` is asked.
    """
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    pairs = list(agendas[["case_id", "agenda"]].itertuples(index=False))
    times = agenda_times(ranker, agendas)
    bar = agenda_progress(len(pairs), ranker.name, enabled=settings.progress_bar)
    for start in range(0, len(pairs), settings.agenda_batch):
        chunk = pairs[start : start + settings.agenda_batch]
        tick = time.perf_counter()
        ranked = ranker.rank_many_with_scores(
            [list(agenda) for _, agenda in chunk],
            k,
            [case for case, _ in chunk],
            times=None if times is None else times[start : start + len(chunk)],
        )
        for (case_id, agenda), (ids, scores) in zip(chunk, ranked, strict=True):
            case_rows = ranker.roster.recommendation_rows(case_id, ids, scores)
            if text_system is not None:
                _add_generated_text(
                    case_rows, ranker, agenda, ids[0], text_system, settings
                )
            rows.extend(case_rows)
        # With agenda_batch > 1 an agenda's latency is its batch's time: the time
        # until its answer is ready.
        latencies.extend([time.perf_counter() - tick] * len(chunk))
        bar.update(len(chunk))
    bar.close()
    return rows, latencies


def recommend(
    ranker: RerankRanker | GenerativeRanker,
    agendas: pd.DataFrame,
    settings: RecommenderSettings,
    *,
    generative_system: str = "",
    with_text: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank roster experts for every agenda.

    Args:
        ranker: From :func:`build_ranker`.
        agendas: From :func:`.agenda_table.parse_agenda_table`.
        settings: ``top_k``, ``agenda_batch`` and ``max_new_tokens`` are used.
        generative_system: System prompt of the generative pairs (generated text).
        with_text: Add ``generated_text``: the model's text after the top expert's
            ``Expert: <name> (ID <id>)`` line (a rationale paragraph for an adapter
            trained on rationale pairs), on rank 1; empty on other ranks.

    Returns:
        ``(recommendations, metrics)``: one row per (case_id, rank) with
        :data:`RECOMMENDATION_COLUMNS` (+ ``generated_text`` when asked), and the
        latency per agenda (p50/p95), throughput and run facts.
    """
    ranker.scorer.fitting.reset()
    k = min(settings.top_k, len(ranker.roster))
    started = time.perf_counter()
    rows, latencies = _rank_in_batches(
        ranker, agendas, k, settings, generative_system if with_text else None
    )
    wall = time.perf_counter() - started
    columns = list(RECOMMENDATION_COLUMNS) + (["generated_text"] if with_text else [])
    metrics = {
        "mode": settings.mode,
        "top_k": k,
        "candidates": settings.candidates if settings.mode == "rerank" else None,
        "device": str(next(ranker.scorer.model.parameters()).device),
        **_latency_summary(latencies, wall),
        "prompt_fitting": ranker.scorer.fitting.log(
            f"Recommendations ({settings.mode})",
            "ranked by the retriever alone"
            if settings.mode == "rerank"
            else "left in roster order",
        ),
    }
    logger.info(
        "Recommended %d experts for %d agendas: latency p50 %.3f s, p95 %.3f s, "
        "%.2f agendas/s (%s).",
        k,
        metrics["n_agendas"],
        metrics["latency_p50_s"],
        metrics["latency_p95_s"],
        metrics["throughput_agendas_per_s"] or 0.0,
        metrics["device"],
    )
    return pd.DataFrame(rows, columns=columns), metrics
