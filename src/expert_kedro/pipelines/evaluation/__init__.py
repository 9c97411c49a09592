"""evaluation pipeline: retrieval baselines and plugged-in systems on the TEST split.

What it does
    1. ``partial_test_projects``: one 3-4 question agenda per test project
       (augmentation's ``make_partial_agendas``, seeded per project).
    2. ``checked_retrieval_index``: the saved ``retrieval_index`` (built from the
       roster and TRAIN pairs by the retrieval pipeline) after ``check_no_leakage``
       against validation, test and partial-test agendas; nothing is fit here.
    3. Its popularity, BM25 (``bm25s``), dense (all-MiniLM-L6-v2), hybrid,
       hybrid+prior (the hybrid with the training-bookings prior and the recent
       activity before each agenda: the candidate stage) and, when projects have
       times, recent_activity retrievers; the BM25, prior and recency weights were
       tuned on VALIDATION only (``hybrid_tuning``). Each agenda is scored as of
       its project's time (``retrieval.recency.time_from``).
    4. ``baseline_rankings`` (whole roster per agenda) and ``hybrid_candidates``
       (hybrid+prior top-K, the input of an LLM reranker).
    5. ``evaluation_metrics`` (hit@1, hit@5, MRR, nDCG@5 and recall@K at
       ``evaluation.recall_at``, with project-bootstrap 95% CIs; random is
       analytic), ``evaluation_comparison_plot`` and
       ``evaluation_results_table`` (markdown, also logged compactly).

Plugging in another system (e.g. an LLM recommender)
    Produce a *rankings table* (``rankings.RANKING_COLUMNS``)::

        system, split ("test" [, "validation"]), variant ("full" | "partial"),
        project_id, rank (1 = best), expert_id (roster ids only), score

    for ``test_projects`` (variant ``full``) and ``partial_test_projects`` (variant
    ``partial``). An object with ``name`` and ``rank(agendas, k) -> list[list[int]]``
    (``retrieval.Recommender``) gets one via ``rankings.rank_with_recommender``; one
    with ``expert_ids`` and ``score_all(agendas)`` via ``rank_with_retriever``. A
    reranker reads its candidates from ``hybrid_candidates`` or retrieves them with
    ``checked_retrieval_index``. Then register::

        evaluation.create_pipeline(extra_rankings=["llm_rerank_rankings"])
        + <pipeline with the node that writes llm_rerank_rankings>

    The metrics node validates every table (roster ids, no repeats, ranks 1..n) and
    reports the system beside the baselines; projects it did not rank count as misses
    (or are skipped with ``evaluation.unranked_projects: skip``), with counts.
"""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
