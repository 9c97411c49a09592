"""``CrossEncoderDataset``: versioned folders holding a trained cross-encoder."""

from __future__ import annotations

import json
from pathlib import Path

from kedro.io.core import DatasetError
from kedro_datasets._typing import JSONPreview

from expert_kedro.cross_encoder.training import TrainedCrossEncoder, load_cross_encoder
from expert_kedro.datasets._folders import VersionedFolderDataset

RECORD = "training.json"
"""The training record, next to the model's own files."""


class CrossEncoderDataset(
    VersionedFolderDataset[TrainedCrossEncoder, TrainedCrossEncoder]
):
    """Saves a trained sentence-transformers ``CrossEncoder`` and its record.

    A saved folder is the model's ``save_pretrained`` output (config, weights,
    tokenizer) plus ``training.json`` (settings, base model signature, pairs, steps,
    seconds, loss history). Loading reads the local files only (no Hub access).

    With ``versioned: true`` every save is a new timestamped folder, never
    overwritten; without it a save replaces the folder in one rename.

    Example catalog entry:

    .. code-block:: yaml

        cross_encoder:
          type: expert_kedro.datasets.CrossEncoderDataset
          filepath: data/06_models/cross_encoder
          versioned: true
          metadata:
            kedro-viz:
              layer: models
              preview_args: {}

    Python API:

    .. code-block:: python

        dataset = CrossEncoderDataset(filepath="data/06_models/cross_encoder")
        dataset.save(trained)
        trained = dataset.load()
        logits = trained.model.predict([(agenda, candidate)])
    """

    MARKER = RECORD
    MISSING = (
        "No cross-encoder at '{path}' (missing {marker}). Train it with "
        "`kedro run --pipelines=evaluation_llm`."
    )

    def save(self, data: TrainedCrossEncoder) -> None:
        """Write the model and its record into a new folder (version)."""
        if not isinstance(data, TrainedCrossEncoder):
            raise DatasetError(
                "CrossEncoderDataset expects a TrainedCrossEncoder (see expert_kedro."
                f"cross_encoder.train_cross_encoder), got {type(data).__name__}."
            )

        def writer(folder: str) -> None:
            data.model.save_pretrained(folder, create_model_card=False)
            Path(folder, RECORD).write_text(
                json.dumps(dict(data.record), indent=2, default=str), encoding="utf-8"
            )

        self._write_folder(writer)

    def load(self) -> TrainedCrossEncoder:
        """Read the latest (or pinned) version."""
        folder = self._local_folder(self._load_folder())
        record = json.loads(Path(folder, RECORD).read_text(encoding="utf-8"))
        return TrainedCrossEncoder(load_cross_encoder(folder), record)

    def preview(self) -> JSONPreview:
        """The training record without the loss history, for kedro-viz."""
        record = self._read_marker()
        record.pop("loss_history", None)
        return JSONPreview(json.dumps(record, default=str))
