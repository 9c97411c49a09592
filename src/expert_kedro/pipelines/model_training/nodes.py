"""Nodes of the model_training pipeline: base model, tokenization, QLoRA training.

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
from matplotlib.figure import Figure

from expert_kedro.modeling.base_model import (
    dequantize_gguf,
    load_base_model,
    load_tokenizer,
)
from expert_kedro.modeling.handles import (
    BaseModelHandle,
    ModelSource,
    PreparedBaseModel,
    TrainedAdapter,
    same_source,
)
from expert_kedro.modeling.hardware import (
    HardwareInfo,
    detect_hardware,
    select_compute_dtype,
)
from expert_kedro.modeling.ranking_validation import (
    ValidationRanking,
    selection_callbacks,
)
from expert_kedro.modeling.selection import SelectionSettings, selection_summary
from expert_kedro.modeling.tokenization import (
    check_pair_columns,
    tokenize_pairs,
)
from expert_kedro.modeling.training import train_lora
from expert_kedro.modeling.varlen_attention import VARLEN
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import RetrievalIndex, check_no_leakage

logger = logging.getLogger(__name__)


def verify_hardware(quantization: dict[str, Any]) -> dict[str, Any]:
    """Log the device the run trains on and check the quantization fits it.

    Args:
        quantization: ``model_training.quantization`` parameters.

    Returns:
        The hardware description (device, name, memory, bf16 support, cores) plus
        the compute dtype that will be used, for the training history.
    """
    hardware = detect_hardware()
    dtype = select_compute_dtype(quantization.get("compute_dtype", "auto"), hardware)
    return {
        **hardware.as_dict(),
        "compute_dtype": str(dtype).removeprefix("torch."),
        "load_in_4bit": bool(quantization.get("load_in_4bit", True)),
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
    frame: pd.DataFrame, limit: int | None, seed: int, name: str
) -> pd.DataFrame:
    if limit is None or len(frame) <= limit:
        return frame.reset_index(drop=True)
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
        params: ``model_training`` parameters: ``include_augmented`` (false drops the
            partial-agenda pairs, ``source == "partial"``), ``max_train_examples``
            (int or null: seeded sample, for small compute budgets), ``seed``.

    Returns:
        The pairs to tokenize.
    """
    check_pair_columns(training_examples, "training_examples")
    pairs = training_examples
    if not params.get("include_augmented", True):
        pairs = pairs[pairs["source"] != "partial"]
        logger.info(
            "include_augmented=false: dropped %d partial-agenda pairs",
            len(training_examples) - len(pairs),
        )
    logger.info("Training pairs: %s", pairs["source"].value_counts().to_dict())
    return _sample(pairs, params.get("max_train_examples"), params["seed"], "train")


def select_validation_subset(
    validation_examples: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Choose the validation pairs whose loss is tracked during training.

    Args:
        validation_examples: Validation pairs of the configured recommender mode.
        params: ``model_training`` parameters: ``max_validation_examples`` (int or
            null) bounds evaluation time on CPU; ``seed``.

    Returns:
        The (possibly sampled) validation pairs.
    """
    check_pair_columns(validation_examples, "validation_examples")
    return _sample(
        validation_examples,
        params.get("max_validation_examples"),
        params["seed"],
        "validation",
    )


def tokenize_examples(
    pairs: pd.DataFrame, base_model: BaseModelHandle, tokenization: dict[str, Any]
) -> Dataset:
    """Tokenize pairs with the base model's tokenizer and the shared prompt format.

    Args:
        pairs: Training or validation pairs.
        base_model: ``base_model`` handle (its tokenizer is used).
        tokenization: ``max_length``, ``completion_only_loss``, ``prompt_style``.

    Returns:
        Unpadded ``input_ids`` / ``labels`` rows (see ``tokenize_pairs``).
    """
    return tokenize_pairs(
        pairs,
        load_tokenizer(base_model),
        max_length=int(tokenization["max_length"]),
        completion_only_loss=bool(tokenization.get("completion_only_loss", True)),
        prompt_style=tokenization.get("prompt_style", "auto"),
        name="pairs",
    )


def _selection(
    ranking: ValidationRanking,
    tokenizer: Any,
    params: dict[str, Any],
    recommender: dict[str, Any],
) -> tuple[SelectionSettings, list[Any]]:
    """The adapter selection and its callbacks (ranking validation, record, early
    stopping); the retriever is checked to hold no validation project first."""
    check_no_leakage(ranking.retriever, {"validation": ranking.projects})
    selection = SelectionSettings.from_params(params.get("selection"))
    return selection, selection_callbacks(
        selection,
        ranking,
        tokenizer,
        RecommenderSettings.from_params(recommender),
        seed=int(params["seed"]),
        prompt_style=params["tokenization"].get("prompt_style", "auto"),
        packed_attention=params.get("attn_implementation") == VARLEN,
    )


def train_lora_adapter(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    base_model: BaseModelHandle,
    tokenized_train: Dataset,
    tokenized_validation: Dataset,
    hardware: dict[str, Any],
    validation_projects: pd.DataFrame,
    retrieval_index: RetrievalIndex,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    params: dict[str, Any],
    recommender: dict[str, Any],
) -> tuple[TrainedAdapter, dict[str, Any]]:
    """Fine-tune a LoRA adapter on the 4-bit base model.

    The adapter saved is the checkpoint ``selection.metric`` chooses: the last
    step's, the lowest validation loss's, or the best ranking of the validation
    agendas by the reranker (ranked at every evaluation, with the loss).

    Args:
        base_model: ``base_model`` handle.
        tokenized_train: Training examples.
        tokenized_validation: Validation examples (loss tracked from step 0).
        hardware: Output of :func:`verify_hardware`.
        validation_projects: Validation projects: a seeded sample of them is
            ranked at each evaluation (``selection.max_agendas``).
        retrieval_index: The hybrid retriever proposing their candidates, as at
            inference (checked to hold no validation project).
        expert_roster: The roster.
        train_pairs: Training pairs (candidates' past questions in the prompts).
        params: ``model_training`` parameters (``seed``, ``quantization``,
            ``lora``, ``training``, ``tokenization``, ``selection``).
        recommender: ``recommender`` parameters; their prompt layout (mode, past
            questions, region line) is recorded with the adapter so that inference
            refuses a different one.

    Returns:
        The adapter with its tokenizer and training info, and the training history.
    """
    info = HardwareInfo(**{k: hardware[k] for k in HardwareInfo.__dataclass_fields__})
    tokenizer = load_tokenizer(base_model)
    model = load_base_model(
        base_model,
        params["quantization"],
        hardware=info,
        attn_implementation=params.get("attn_implementation", "sdpa"),
    )
    selection, callbacks = _selection(
        ValidationRanking(
            validation_projects, expert_roster, retrieval_index, train_pairs
        ),
        tokenizer,
        params,
        recommender,
    )
    has_eval = len(tokenized_validation) > 0
    result = train_lora(
        model,
        tokenizer,
        tokenized_train,
        tokenized_validation if has_eval else None,
        lora=params["lora"],
        training=selection.training_params(params["training"], has_eval=has_eval),
        seed=int(params["seed"]),
        hardware=info,
        callbacks=callbacks,
    )
    history = {
        **result.history,
        "selection": selection_summary(callbacks),
        "device": hardware,
        "base_model": base_model.source,
        "truncated_train_examples": int(sum(tokenized_train["truncated"])),
        "parameters": params,
    }
    training_info = {
        "base_model": base_model.source,
        "prompt_style": params["tokenization"].get("prompt_style", "auto"),
        "max_length": int(params["tokenization"]["max_length"]),
        "completion_only_loss": bool(
            params["tokenization"].get("completion_only_loss", True)
        ),
        "quantization": params["quantization"],
        "seed": int(params["seed"]),
        "global_step": history["global_step"],
        "eval_loss_start": history["eval_loss_start"],
        "eval_loss_end": history["eval_loss_end"],
        "selection": history["selection"],
        "recommender": RecommenderSettings.from_params(recommender).rerank_layout(),
    }
    adapter = TrainedAdapter(
        model=result.model, tokenizer=tokenizer, training_info=training_info
    )
    return adapter, history


def plot_loss_curve(training_history: dict[str, Any]) -> Figure:
    """Plot training loss per step and validation loss per evaluation.

    Args:
        training_history: Output of :func:`train_lora_adapter`.

    Returns:
        A matplotlib figure for the ``loss_curve`` dataset.
    """
    # A bare Figure (no pyplot) needs no GUI backend and leaks no global state.
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    steps = training_history.get("steps", [])
    evals = training_history.get("eval", [])
    if steps:
        axis.plot(
            [s["step"] for s in steps],
            [s["loss"] for s in steps],
            label="training loss",
            alpha=0.7,
        )
    if evals:
        axis.plot(
            [e["step"] for e in evals],
            [e["eval_loss"] for e in evals],
            "o-",
            label="validation loss",
        )
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("cross-entropy loss")
    device = training_history.get("device", {}).get("device_name", "?")
    axis.set_title(f"LoRA fine-tuning loss ({device})")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure
