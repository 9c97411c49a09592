"""The ``recommender`` parameter group (conf/base/parameters.yml), validated once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from expert_kedro.evaluation.metrics import METRIC_NAMES
from expert_kedro.settings_base import ParameterSettings
from expert_kedro.training_data.prompt_fitting import DEFAULT_POLICY, POLICIES

MODES = ("rerank", "generative")
# recommender.agenda_region (see rerank_pairs.format_candidate).
AGENDA_REGION_CHOICES = (False, True, "compare")


@dataclass(frozen=True)
class RecommenderSettings(ParameterSettings):
    """Validated ``recommender`` parameters.

    Attributes:
        mode: ``rerank`` (retrieve K, LLM judges each, fuse) or ``generative``
            (score every roster expert's first line).
        top_k: Experts returned per agenda.
        candidates: ``K``, retrieved candidates the LLM scores (rerank).
        retrieval_weight: Fusion weight of the retriever's z-score (rerank), set by
            hand; None: the weight ``evaluation_llm`` tuned on validation for the
            adapter in use (``rerank_tuning``), else ``fallback_retrieval_weight``.
        fallback_retrieval_weight: Fusion weight used while no tuning exists for
            the adapter in use (e.g. right after training).
        weight_grid: Weights tried when tuning on validation.
        tuning_metric: Validation metric the tuned weight maximises.
        rerank_system_prompt: System prompt of the rerank examples.
        history_questions: Past training questions shown per candidate.
        candidate_region: Add a ``Region: <region>`` line (North America, Europe,
            APAC, Latin America, Middle East; from the candidate's location) after
            the profile in rerank prompts.
        agenda_region: Add an ``Agenda region:`` line (the regions the agenda
            names) to the candidate block: false, true, or ``compare`` (also says
            whether the candidate's region is one of them).
        candidate_activity: Add an ``Activity:`` line to the candidate block: the
            candidate's bookings among the last ``candidate_activity`` training
            projects before the agenda, and before it in all (0: no line; needs the
            retrieval index's timeline, ``retrieval.recency.time_from``).
        rerank_with_generative_pairs: Also train the generative pairs in rerank mode.
        max_prompt_tokens: Prompt budget in tokens: longer prompts are fitted to it
            by the length policy (in training too, where the tokenization
            ``max_length`` minus the answer may be tighter), counted in the metrics;
            a case that cannot fit at all is ranked by the retriever alone.
        prompt_fitting: The length policy (see
            :mod:`expert_kedro.training_data.prompt_fitting`): ``shorten_questions``,
            ``drop_questions`` or ``keep_history``.
        batch_size: Candidates per forward pass.
        agenda_batch: Agendas whose rerank candidates share forward passes
            (1: one agenda at a time, the lowest latency for each).
        share_prefix: Rerank scoring runs the agenda prompt once for all
            candidates: ``auto`` (on CPU, off on CUDA, where one padded batch of
            whole prompts measured faster), true or false.
        packing: Rerank prompts of a forward pass packed into one padding-free
            row in which each agenda's prompt runs once for all its candidates
            (``varlen`` attention): ``auto`` (on), true or false (then
            ``share_prefix`` decides).
        fused_kernels: Liger's fused RMSNorm/SwiGLU/RoPE kernels on the loaded
            model (CUDA and the ``gpu`` extra only).
        generate_text: Add ``generated_text`` (the model's text for the top expert):
            true, false, or ``auto`` (only when ``pairs.output_format`` is
            ``rationale``).
        max_new_tokens: Budget of ``generated_text``.
        load_in_4bit: ``auto`` (4-bit on CUDA, full weights on CPU), true or false.
        compute_dtype: Compute dtype of the inference model (``auto`` ...).
        max_eval_projects: Cap on evaluation projects for LLM systems (null: all).
        zero_shot_designs: Designs (``rerank``, ``generative``) in which the base
            model without adapter is evaluated as a baseline (``evaluation_llm``).
        progress_bar: Show a progress bar on stderr while agendas are scored
            (inference, ``evaluation_llm``); never shown when stderr is not a
            terminal.
    """

    GROUP = "recommender"

    mode: str = "rerank"
    top_k: int = 5
    candidates: int = 5
    retrieval_weight: float | None = None
    fallback_retrieval_weight: float = 0.9
    weight_grid: tuple[float, ...] = field(
        default=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    )
    tuning_metric: str = "mrr"
    rerank_system_prompt: str = (
        "You are an expert-network research assistant. Read the client's agenda and "
        "the candidate expert's profile. Answer yes if this expert is the right match "
        "for the agenda (topic, region and function), otherwise answer no."
    )
    history_questions: int = 4
    candidate_region: bool = True
    agenda_region: bool | str = "compare"
    candidate_activity: int = 0
    rerank_with_generative_pairs: bool = False
    max_prompt_tokens: int = 1024
    prompt_fitting: str = DEFAULT_POLICY
    batch_size: int = 16
    agenda_batch: int = 1
    share_prefix: bool | str = "auto"
    packing: bool | str = "auto"
    fused_kernels: bool = False
    generate_text: bool | str = "auto"
    max_new_tokens: int = 160
    load_in_4bit: bool | str = "auto"
    compute_dtype: str = "auto"
    max_eval_projects: int | None = None
    zero_shot_designs: tuple[str, ...] = ("rerank",)
    progress_bar: bool = True

    def rerank_layout(self) -> dict[str, Any]:
        """What shapes a rerank prompt: recorded with an adapter, checked at use."""
        return {
            "mode": self.mode,
            "history_questions": self.history_questions,
            "candidate_region": self.candidate_region,
            "agenda_region": self.agenda_region,
            "candidate_activity": self.candidate_activity,
        }

    def wants_text(self, output_format: str) -> bool:
        """Whether ``generated_text`` is produced for this pairs output format."""
        if self.generate_text == "auto":
            return output_format == "rationale"
        return bool(self.generate_text)

    def validate(self) -> None:
        """Check ranges and choices.

        Raises:
            ValueError: Naming the offending parameter.
        """
        if self.mode not in MODES:
            raise ValueError(f"recommender.mode={self.mode!r}: use one of {MODES}.")
        if self.tuning_metric not in METRIC_NAMES:
            raise ValueError(
                f"recommender.tuning_metric={self.tuning_metric!r}: use one of "
                f"{METRIC_NAMES}."
            )
        unknown = [d for d in self.zero_shot_designs if d not in MODES]
        if unknown:
            raise ValueError(
                f"recommender.zero_shot_designs has {unknown}: use designs of {MODES}."
            )
        checks = {
            "top_k": self.top_k >= 1,
            "candidates": self.candidates >= 1,
            "retrieval_weight": self.retrieval_weight is None
            or 0.0 <= self.retrieval_weight <= 1.0,
            "fallback_retrieval_weight": 0.0 <= self.fallback_retrieval_weight <= 1.0,
            "history_questions": self.history_questions >= 0,
            "candidate_activity": self.candidate_activity >= 0,
            "max_prompt_tokens": self.max_prompt_tokens >= 16,
            "batch_size": self.batch_size >= 1,
            "agenda_batch": self.agenda_batch >= 1,
            "max_new_tokens": self.max_new_tokens >= 1,
            "load_in_4bit": self.load_in_4bit in ("auto", True, False),
            "generate_text": self.generate_text in ("auto", True, False),
            "share_prefix": self.share_prefix in ("auto", True, False),
            "packing": self.packing in ("auto", True, False),
            "fused_kernels": isinstance(self.fused_kernels, bool),
            "progress_bar": isinstance(self.progress_bar, bool),
            "candidate_region": isinstance(self.candidate_region, bool),
            "agenda_region": self.agenda_region in AGENDA_REGION_CHOICES,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"Invalid recommender parameter(s) {bad}: top_k, candidates, "
                "batch_size, agenda_batch, "
                "max_new_tokens >= 1; retrieval_weight null or in [0, 1]; "
                "fallback_retrieval_weight in [0, 1]; history_questions and "
                "candidate_activity >= 0; max_prompt_tokens >= 16; load_in_4bit, "
                "generate_text, share_prefix and packing auto/true/false; "
                "candidate_region, fused_kernels and progress_bar true/false; "
                "agenda_region true/false/compare."
            )
        if self.prompt_fitting not in POLICIES:
            raise ValueError(
                f"recommender.prompt_fitting={self.prompt_fitting!r}: use one of "
                f"{sorted(POLICIES)}."
            )
        if not str(self.rerank_system_prompt).strip():
            raise ValueError("recommender.rerank_system_prompt is empty.")


def recorded_layout(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """An adapter's recorded rerank layout, with the defaults of keys added later
    (an adapter from before the Activity line was an option was trained without it)."""
    return {"candidate_activity": 0, **recorded}
