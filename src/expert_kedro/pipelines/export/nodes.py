"""Nodes of the export pipeline: base model + LoRA adapter in, a servable folder out.

The merge lives in :mod:`expert_kedro.modeling.export`, the model card in
:mod:`expert_kedro.recommender.model_card` and its README in
:mod:`expert_kedro.recommender.model_card_readme`; the nodes check that the adapter
fits the configured base model and prompt layout, and hand the pieces to the
``served_model`` dataset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from expert_kedro.modeling.export import ExportSettings, merge_adapter, model_facts
from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    ServedModel,
)
from expert_kedro.recommender.adapters import check_adapter_base, check_adapter_layout
from expert_kedro.recommender.model_card import build_model_card
from expert_kedro.recommender.model_card_readme import render_readme
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.settings import PairsSettings

logger = logging.getLogger(__name__)


def merge_lora_adapter(
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    export_params: Mapping[str, Any],
    recommender_params: Mapping[str, Any],
) -> tuple[Any, Any]:
    """Fold the fine-tuned adapter into its base model, in the serving dtype.

    Args:
        base_model: ``base_model`` handle (the prepared full-precision folder).
        lora_adapter: ``lora_adapter`` handle (latest version unless pinned with
            ``--load-versions=lora_adapter:<version>``).
        export_params: ``export`` parameters (``dtype``).
        recommender_params: ``recommender`` parameters (the prompt layout the
            adapter must have been trained on).

    Returns:
        The merged model and the tokenizer used in training.

    Raises:
        AdapterMismatchError: If the adapter belongs to another base model or was
            trained on another rerank prompt layout: the export would be
            documented with a layout the model never saw.
    """
    settings = ExportSettings.from_params(export_params)
    check_adapter_base(base_model, lora_adapter)
    check_adapter_layout(
        lora_adapter, RecommenderSettings.from_params(recommender_params)
    )
    return merge_adapter(base_model, lora_adapter, settings.dtype)


def describe_served_model(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    merged_model: Any,
    merged_tokenizer: Any,
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    export_params: Mapping[str, Any],
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> dict[str, Any]:
    """The model card: sources, training facts, prompt layout, score reading.

    Returns:
        The JSON card written as ``model_card.json`` (and rendered as README.md).
    """
    generative_system = PairsSettings.from_params(pairs_params).system_prompt
    return build_model_card(
        tokenizer=merged_tokenizer,
        base_model=base_model,
        adapter=lora_adapter,
        facts=model_facts(merged_model),
        settings=RecommenderSettings.from_params(recommender_params),
        generative_system=generative_system,
        with_adapter=ExportSettings.from_params(export_params).copy_adapter,
    )


def package_served_model(
    merged_model: Any,
    merged_tokenizer: Any,
    lora_adapter: LoRAAdapterHandle,
    served_model_card: dict[str, Any],
    export_params: Mapping[str, Any],
) -> ServedModel:
    """Everything the ``served_model`` dataset writes into one export folder."""
    settings = ExportSettings.from_params(export_params)
    logger.info(
        "Exporting adapter version %s merged in %s%s",
        lora_adapter.version,
        settings.dtype,
        " with the adapter" if settings.copy_adapter else "",
    )
    return ServedModel(
        model=merged_model,
        tokenizer=merged_tokenizer,
        card=served_model_card,
        readme=render_readme(served_model_card),
        adapter_path=lora_adapter.path if settings.copy_adapter else None,
        max_shard_size=settings.max_shard_size,
    )
