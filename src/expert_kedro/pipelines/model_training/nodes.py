"""Nodes of the model_training pipeline up to training: hardware, base model, subsets,
tokenization (the training node itself: :mod:`.training_node`).

Heavy lifting lives in :mod:`expert_kedro.modeling`; nodes only connect catalog data
to it. Models arrive as lightweight handles (see
:mod:`expert_kedro.modeling.handles`) and are loaded onto the detected device here,
because where and how (4-bit, dtype) to load them is a training decision.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from datasets import Dataset

from expert_kedro.modeling.base_model import load_tokenizer
from expert_kedro.modeling.gguf import dequantize_gguf
from expert_kedro.modeling.handles import (
    BaseModelHandle,
    ModelSource,
    PreparedBaseModel,
    same_source,
)
from expert_kedro.modeling.hardware import detect_hardware, select_compute_dtype
from expert_kedro.modeling.settings import (
    ModelTrainingSettings,
    QuantizationSettings,
    TokenizationSettings,
)
from expert_kedro.modeling.tokenization import (
    check_pair_columns,
    tokenize_pairs,
)
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.queries import sample_whole_queries

logger = logging.getLogger(__name__)


def verify_hardware(quantization: dict[str, Any]) -> dict[str, Any]:
    """Log the device the run trains on and check the quantization fits it.

    Args:
        quantization: ``model_training.quantization`` parameters.

    Returns:
        The hardware description (device, name, memory, bf16 support, cores) plus
        the compute dtype that will be used, for the training history.
    """
    settings = QuantizationSettings.from_params(quantization)
    hardware = detect_hardware()
    dtype = select_compute_dtype(settings.compute_dtype, hardware)
    return {
        **hardware.as_dict(),
        "compute_dtype": str(dtype).removeprefix("torch."),
        "load_in_4bit": settings.load_in_4bit,
    }


def prepare_base_model(
    source: ModelSource, prepared: BaseModelHandle | None
) -> PreparedBaseModel | BaseModelHandle:
    """Make the base model loadable with ``from_pretrained`` (done once).

    A GGUF checkpoint (the default SmolLM2-135M-Instruct) is de-quantized into a
    plain Hugging Face model; a Hub id or HF folder is only referenced, never copied.
    When ``prepared`` already holds this very source, it is returned unchanged and
    the slow conversion is skipped.

    Args:
        source: ``base_model_source``: where the weights come from.
        prepared: ``base_model_cache``: the existing prepared folder, or None.

    Returns:
        What the ``base_model`` dataset writes: a converted model, or a handle.
    """
    if prepared is not None and same_source(prepared.source, source.fingerprint()):
        logger.info("Base model already prepared at %s; reusing it", prepared.path)
        return prepared
    if not source.is_gguf:
        logger.info("Base model %s needs no conversion", source.describe())
        return BaseModelHandle(
            path=source.name_or_path,
            source=source.fingerprint(),
            revision=source.revision,
            token=source.token,
        )
    model, tokenizer = dequantize_gguf(source)
    return PreparedBaseModel(
        model=model, tokenizer=tokenizer, source=source.fingerprint()
    )


def _sample(
    frame: pd.DataFrame,
    limit: int | None,
    seed: int,
    name: str,
    *,
    whole_queries: bool = False,
) -> pd.DataFrame:
    """A seeded sample of at most ``limit`` pairs (all of them when None).

    With ``whole_queries`` (the ranking loss compares a query's candidates) whole
    queries are sampled, each with all its positives and negatives.
    """
    if limit is None or len(frame) <= limit:
        return frame.reset_index(drop=True)
    if whole_queries:
        return sample_whole_queries(frame, int(limit), seed)
    logger.info("%s: using a seeded sample of %d of %d pairs", name, limit, len(frame))
    return frame.sample(n=int(limit), random_state=seed).reset_index(drop=True)


def select_training_subset(
    training_examples: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Choose the training pairs this run fits.

    ``training_examples`` (from rerank_pairs) already holds the pairs of the
    configured recommender mode: generative pairs (original + partial agendas) or
    rerank yes/no pairs, all with the same columns, so training needs no mode logic.

    Args:
        training_examples: Pairs with ``system``, ``input``, ``output``, ``source``...
        params: ``model_training`` parameters (:class:`ModelTrainingSettings`):
            ``include_augmented`` (false drops the partial-agenda pairs, ``source
            == "partial"``), ``max_train_examples`` (null: all; else a seeded
            sample, for small compute budgets; of whole queries when
            ``ranking_loss`` is on), ``seed``.

    Returns:
        The pairs to tokenize.
    """
    settings = ModelTrainingSettings.from_params(params)
    check_pair_columns(training_examples, "training_examples")
    pairs = training_examples
    if not settings.include_augmented:
        pairs = pairs[pairs["source"] != "partial"]
        logger.info(
            "include_augmented=false: dropped %d partial-agenda pairs",
            len(training_examples) - len(pairs),
        )
    logger.info("Training pairs: %s", pairs["source"].value_counts().to_dict())
    return _sample(
        pairs,
        settings.max_train_examples,
        settings.seed,
        "train",
        whole_queries=settings.ranking_loss.enabled,
    )


def select_validation_subset(
    validation_examples: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Choose the validation pairs whose loss is tracked during training.

    Args:
        validation_examples: Validation pairs of the configured recommender mode.
        params: ``model_training`` parameters (:class:`ModelTrainingSettings`):
            ``max_validation_examples`` (null: all) bounds evaluation time on CPU;
            ``seed``.

    Returns:
        The (possibly sampled) validation pairs.
    """
    settings = ModelTrainingSettings.from_params(params)
    check_pair_columns(validation_examples, "validation_examples")
    return _sample(
        validation_examples,
        settings.max_validation_examples,
        settings.seed,
        "validation",
    )


def tokenize_examples(
    pairs: pd.DataFrame,
    base_model: BaseModelHandle,
    tokenization: dict[str, Any],
    recommender: dict[str, Any] | None = None,
) -> Dataset:
    """Tokenize pairs with the base model's tokenizer and the shared prompt format.

    Args:
        pairs: Training or validation pairs.
        base_model: ``base_model`` handle (its tokenizer is used).
        tokenization: ``model_training.tokenization`` parameters.
        recommender: ``recommender`` parameters: long prompts are fitted to
            ``max_prompt_tokens`` by the ``prompt_fitting`` policy, as in inference.

    Returns:
        Unpadded ``input_ids`` / ``labels`` rows (see ``tokenize_pairs``).
    """
    settings = TokenizationSettings.from_params(tokenization)
    fitting = RecommenderSettings.from_params(recommender or {})
    return tokenize_pairs(
        pairs,
        load_tokenizer(base_model),
        max_length=settings.max_length,
        completion_only_loss=settings.completion_only_loss,
        prompt_style=settings.prompt_style,
        name="pairs",
        max_prompt_tokens=fitting.max_prompt_tokens,
        prompt_fitting=fitting.prompt_fitting,
    )
