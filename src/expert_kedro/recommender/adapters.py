"""The fine-tuned model at inference: checked against its base and layout, loaded once.

* :func:`check_adapter_base` - refuse an adapter trained on another base model.
* :func:`check_adapter_layout` - refuse a rerank adapter trained on another prompt
  layout than the configured one.
* :func:`load_scorer` - base model + LoRA adapter loaded once, as an ``LLMScorer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    same_source,
)
from expert_kedro.recommender.settings import RecommenderSettings, recorded_layout
from expert_kedro.scoring.scorer import LLMScorer

TRAIN_COMMAND = "kedro run --pipelines=training"


class AdapterMismatchError(ValueError):
    """The LoRA adapter does not fit the configured base model or prompt layout."""


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

    The reranker reads the candidate block it was trained on: past questions, the
    ``Region:`` and the ``Activity:`` lines change it. Adapters that recorded no
    layout (older ones) and non-rerank use are not checked.

    Raises:
        AdapterMismatchError: Naming each differing ``recommender.*`` parameter.
    """
    recorded = (adapter.training_info or {}).get("recommender")
    if not isinstance(recorded, Mapping) or settings.mode != "rerank":
        return
    if recorded.get("mode") != "rerank":
        return
    wanted = settings.rerank_layout()
    recorded = recorded_layout(recorded)
    diffs = [
        f"{key}={recorded[key]!r} (configured: {wanted[key]!r})"
        for key in (
            "history_questions",
            "candidate_region",
            "agenda_region",
            "candidate_activity",
        )
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
    what fine-tuning adds. The weights are read by
    ``modeling.base_model.load_model_for_inference``, the project's one loader of
    a base model with its adapter.

    Raises:
        AdapterMismatchError: If the adapter belongs to another base model or was
            trained on another rerank prompt layout.
    """
    import torch  # noqa: PLC0415 - heavy import

    from expert_kedro.modeling.base_model import (  # noqa: PLC0415
        load_model_for_inference,
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
    model, tokenizer = load_model_for_inference(base_model, adapter, quantization)
    if adapter is not None and not four_bit and hasattr(model, "merge_and_unload"):
        # Full-precision weights: fold the LoRA deltas in once, so each forward
        # pass costs the same as the bare base model.
        model = model.merge_and_unload().eval()
    info = adapter.training_info if adapter is not None else {}
    if settings.fused_kernels:
        apply_fused_kernels(model)
    share_prefix, packing = scoring_layout(settings)
    return LLMScorer(
        model=model,
        tokenizer=tokenizer,
        prompt_style=str((info or {}).get("prompt_style", "auto")),
        max_prompt_tokens=settings.max_prompt_tokens,
        prompt_fitting=settings.prompt_fitting,
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
