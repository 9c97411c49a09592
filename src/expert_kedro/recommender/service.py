"""One recommendation path for the inference pipeline, the evaluation and the CLI.

* :func:`parse_agenda_table` - validate ``case_id`` / ``agenda`` rows (clear errors
  naming the case).
* :func:`check_adapter_base` - refuse an adapter trained on another base model.
* :func:`load_scorer` - base model + LoRA adapter loaded once, as an ``LLMScorer``.
* :func:`build_ranker` - the ranker of ``recommender.mode`` (rerank or generative).
* :func:`recommend` - rank every agenda, build the ``recommendations`` rows and the
  latency/throughput metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    same_source,
)
from expert_kedro.preprocessing.parsing import parse_agenda_strict
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.grounding import RECOMMENDATION_COLUMNS, Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.formatting import format_agenda, format_expert_line
from expert_kedro.training_data.rerank_pairs import ExpertHistory

logger = logging.getLogger(__name__)

TRAIN_COMMAND = "kedro run --pipeline=training"


class AdapterMismatchError(ValueError):
    """The LoRA adapter does not fit the configured base model or prompt layout."""


def parse_agenda_table(table: pd.DataFrame, name: str = "new_agendas") -> pd.DataFrame:
    """Validate agendas to recommend for.

    Args:
        table: Rows with ``case_id`` and ``agenda`` (a JSON list of questions, or a
            list); harmless slips (single quotes, trailing comma, HTML entities) are
            repaired by the project's tolerant parser.
        name: Dataset name used in error messages.

    Returns:
        ``case_id`` (str), ``agenda`` (list of str), in input order.

    Raises:
        ValueError: For missing columns, an empty table, a repeated ``case_id`` or
            an agenda that is empty, not a list or unreadable (naming the case).
    """
    missing = [c for c in ("case_id", "agenda") if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; expected columns case_id, agenda "
            f"(JSON list of questions); found {list(table.columns)}."
        )
    if table.empty:
        raise ValueError(f"{name} has no rows: give at least one agenda.")
    case_ids = table["case_id"].astype(str).str.strip()
    repeated = sorted(set(case_ids[case_ids.duplicated()]))
    if repeated:
        raise ValueError(
            f"{name} repeats case_id(s) {repeated[:10]}; make them unique."
        )
    agendas = [
        parse_agenda_strict(value, field="agenda", row=case_id)
        for case_id, value in zip(case_ids, table["agenda"], strict=True)
    ]
    return pd.DataFrame({"case_id": case_ids.tolist(), "agenda": agendas})


def _source_names(base: BaseModelHandle | str) -> set[str]:
    if isinstance(base, BaseModelHandle):
        names = {base.path, str(base.source.get("name_or_path", ""))}
    else:
        names = {str(base)}
    expanded = set()
    for name in filter(None, names):
        expanded.add(name.rstrip("/"))
        if Path(name).exists():
            expanded.add(str(Path(name).resolve()))
    return expanded


def check_adapter_base(base: BaseModelHandle | str, adapter: LoRAAdapterHandle) -> None:
    """Refuse an adapter whose recorded base model is not the configured base.

    The adapter's ``training_info.base_model`` fingerprint (when recorded) is
    compared with the base model's source; otherwise peft's
    ``base_model_name_or_path`` is compared with the base model's path and source.

    Raises:
        AdapterMismatchError: Naming both models.
    """
    info = adapter.training_info or {}
    recorded = info.get("base_model", info.get("base_model_source"))
    if isinstance(recorded, Mapping) and isinstance(base, BaseModelHandle):
        keys = ("name_or_path", "gguf_file")
        if same_source(recorded, base.source):
            return
        raise AdapterMismatchError(
            f"The LoRA adapter at {adapter.path} was trained on base model "
            f"{dict((k, recorded.get(k)) for k in keys)} but the configured base model "
            f"is {dict((k, base.source.get(k)) for k in keys)}. Train an adapter for "
            f"this base (`{TRAIN_COMMAND}`) or configure the matching base model."
        )
    trained_on = adapter.base_model_name_or_path
    if not trained_on:
        return
    candidates = {trained_on.rstrip("/")}
    if Path(trained_on).exists():
        candidates.add(str(Path(trained_on).resolve()))
    names = _source_names(base)
    same_folder = {Path(c).name for c in candidates} & {Path(n).name for n in names}
    if candidates & names or (same_folder and not isinstance(base, str)):
        return
    raise AdapterMismatchError(
        f"The LoRA adapter at {adapter.path} was trained on base model "
        f"'{trained_on}' but the configured base model is '{sorted(names)[0]}'. "
        f"Train an adapter for this base (`{TRAIN_COMMAND}`) or configure the "
        "matching base model."
    )


def check_adapter_layout(
    adapter: LoRAAdapterHandle, settings: RecommenderSettings
) -> None:
    """Refuse a rerank adapter trained on another prompt layout than configured.

    The reranker reads the candidate block it was trained on: past questions and
    the ``Region:`` line change it. Adapters that recorded no layout (older ones)
    and non-rerank use are not checked.

    Raises:
        AdapterMismatchError: Naming each differing ``recommender.*`` parameter.
    """
    recorded = (adapter.training_info or {}).get("recommender")
    if not isinstance(recorded, Mapping) or settings.mode != "rerank":
        return
    if recorded.get("mode") != "rerank":
        return
    wanted = settings.rerank_layout()
    diffs = [
        f"{key}={recorded[key]!r} (configured: {wanted[key]!r})"
        for key in ("history_questions", "candidate_region", "agenda_region")
        if key in recorded and recorded[key] != wanted[key]
    ]
    if diffs:
        raise AdapterMismatchError(
            f"The LoRA adapter at {adapter.path} was trained with recommender."
            f"{', '.join(diffs)}. Set the same values (e.g. --params "
            f"recommender.<name>=<value>) or retrain (`{TRAIN_COMMAND}`)."
        )


def load_scorer(
    base_model: BaseModelHandle | str,
    adapter: LoRAAdapterHandle | None,
    settings: RecommenderSettings,
) -> LLMScorer:
    """Load the base model and the LoRA adapter once, ready to score.

    4-bit NF4 on CUDA; on CPU (``load_in_4bit: auto``) full weights in the compute
    dtype, since bitsandbytes' CPU 4-bit kernels are several times slower, with the
    LoRA deltas merged into the weights. ``adapter=None`` gives the zero-shot base
    model (its own tokenizer, the default prompt layout): the baseline that shows
    what fine-tuning adds.

    Raises:
        AdapterMismatchError: If the adapter belongs to another base model or was
            trained on another rerank prompt layout.
    """
    import torch  # noqa: PLC0415 - heavy import
    from peft import PeftModel  # noqa: PLC0415

    from expert_kedro.modeling.base_model import (  # noqa: PLC0415
        load_base_model,
        load_tokenizer,
    )
    from expert_kedro.scoring.fused_kernels import (  # noqa: PLC0415
        apply_fused_kernels,
    )

    if adapter is not None:
        check_adapter_base(base_model, adapter)
        check_adapter_layout(adapter, settings)
    four_bit = settings.load_in_4bit
    if four_bit == "auto":
        four_bit = torch.cuda.is_available()
    quantization = {
        "load_in_4bit": bool(four_bit),
        "compute_dtype": settings.compute_dtype,
    }
    base = load_base_model(base_model, quantization)
    if adapter is None:
        model, tokenizer, info = base.eval(), load_tokenizer(base_model), {}
    else:
        # As model_training's load_model_for_inference, but the tokenizer is read
        # through the adapter handle (a plain adapter path is checked as a base
        # model).
        model = PeftModel.from_pretrained(base, adapter.path).eval()
        has_tokenizer = (Path(adapter.path) / "tokenizer_config.json").is_file()
        tokenizer = load_tokenizer(adapter if has_tokenizer else base_model)
        if not four_bit and hasattr(model, "merge_and_unload"):
            # Full-precision weights: fold the LoRA deltas in once, so each forward
            # pass costs the same as the bare base model.
            model = model.merge_and_unload().eval()
        info = adapter.training_info or {}
    if settings.fused_kernels:
        apply_fused_kernels(model)
    share_prefix, packing = scoring_layout(settings)
    return LLMScorer(
        model=model,
        tokenizer=tokenizer,
        prompt_style=str(info.get("prompt_style", "auto")),
        max_prompt_tokens=settings.max_prompt_tokens,
        batch_size=settings.batch_size,
        share_prefix=share_prefix,
        packing=packing,
    )


def scoring_layout(settings: RecommenderSettings) -> tuple[bool, bool]:
    """``(share_prefix, packing)`` of rerank scoring, ``auto`` resolved here."""
    import torch  # noqa: PLC0415 - heavy import

    share_prefix = settings.share_prefix
    if share_prefix == "auto":
        share_prefix = not torch.cuda.is_available()
    return bool(share_prefix), settings.packing in ("auto", True)


def build_ranker(
    settings: RecommenderSettings,
    scorer: LLMScorer,
    roster: Roster,
    *,
    retriever: Any = None,
    train_pairs: pd.DataFrame | None = None,
    generative_system: str = "",
) -> RerankRanker | GenerativeRanker:
    """The ranker of ``settings.mode``.

    Args:
        settings: Recommender settings.
        scorer: Loaded model.
        roster: The roster.
        retriever: Fitted hybrid retriever (rerank mode).
        train_pairs: Training pairs (candidate history, when shown).
        generative_system: System prompt of the generative pairs (generative mode).

    Raises:
        ValueError: If the mode's inputs are missing.
    """
    if settings.mode == "generative":
        if not generative_system:
            raise ValueError("Generative mode needs the pairs' system prompt.")
        return GenerativeRanker(scorer, roster, generative_system)
    if retriever is None:
        raise ValueError("Rerank mode needs a fitted retriever (candidate_retriever).")
    history = None
    if settings.history_questions:
        if train_pairs is None:
            raise ValueError("recommender.history_questions > 0 needs train_pairs.")
        history = ExpertHistory(train_pairs)
    return RerankRanker(
        scorer,
        roster,
        retriever,
        settings.rerank_system_prompt,
        candidates=settings.candidates,
        retrieval_weight=settings.retrieval_weight,
        history=history,
        history_questions=settings.history_questions,
        candidate_region=settings.candidate_region,
        agenda_region=settings.agenda_region,
    )


def check_agenda_fits(
    scorer: LLMScorer,
    settings: RecommenderSettings,
    agendas: pd.DataFrame,
    generative_system: str = "",
) -> None:
    """Fail fast on agendas whose prompt alone exceeds ``max_prompt_tokens``.

    Candidate profiles add tokens later (rerank), where the same check runs again;
    this one only saves the retriever's work for an agenda that cannot fit anyway.

    Raises:
        AgendaTooLongError: Naming the case, the token count and the limit.
    """
    system = (
        settings.rerank_system_prompt
        if settings.mode == "rerank"
        else generative_system
    )
    for case_id, agenda in agendas[["case_id", "agenda"]].itertuples(index=False):
        scorer.encode(system, format_agenda(agenda), case=case_id)


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
        agendas: From :func:`parse_agenda_table`.
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
    check_agenda_fits(ranker.scorer, settings, agendas, generative_system)
    k = min(settings.top_k, len(ranker.roster))
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    started = time.perf_counter()
    pairs = list(agendas[["case_id", "agenda"]].itertuples(index=False))
    for start in range(0, len(pairs), settings.agenda_batch):
        chunk = pairs[start : start + settings.agenda_batch]
        tick = time.perf_counter()
        ranked = ranker.rank_many_with_scores(
            [list(agenda) for _, agenda in chunk], k, [case for case, _ in chunk]
        )
        for (case_id, agenda), (ids, scores) in zip(chunk, ranked, strict=True):
            case_rows = ranker.roster.recommendation_rows(case_id, ids, scores)
            if with_text:
                top = ranker.roster.profile(ids[0])
                text = ranker.scorer.generate(
                    generative_system,
                    format_agenda(agenda),
                    prefill=format_expert_line(top["expert_name"], ids[0]) + "\n",
                    max_new_tokens=settings.max_new_tokens,
                    case=case_id,
                )
                for row in case_rows:
                    row["generated_text"] = text if row["rank"] == 1 else ""
            rows.extend(case_rows)
        # With agenda_batch > 1 an agenda's latency is its batch's time: the time
        # until its answer is ready.
        latencies.extend([time.perf_counter() - tick] * len(chunk))
    wall = time.perf_counter() - started
    columns = list(RECOMMENDATION_COLUMNS) + (["generated_text"] if with_text else [])
    metrics = {
        "mode": settings.mode,
        "top_k": k,
        "candidates": settings.candidates if settings.mode == "rerank" else None,
        "device": str(next(ranker.scorer.model.parameters()).device),
        **_latency_summary(latencies, wall),
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
