"""``OptionalJSONDataset``: a JSON record that may not have been written yet."""

from __future__ import annotations

import logging
from typing import Any

from kedro_datasets.json import JSONDataset

logger = logging.getLogger(__name__)


class OptionalJSONDataset(JSONDataset):
    """A ``json.JSONDataset`` whose load gives None until a first version is saved.

    For values that one pipeline produces and another only uses when they exist:
    the rerank fusion weight that ``evaluation_llm`` tunes is read by inference,
    which must also run right after training, before any tuning. Only the absence
    of every version reads as None; a version pinned with ``--load-versions`` that
    does not exist still fails, and so does an unreadable file.

    Example catalog entry:

    .. code-block:: yaml

        rerank_tuning:
          type: expert_kedro.datasets.OptionalJSONDataset
          filepath: data/06_models/rerank_tuning.json
          versioned: true
          save_args:
            indent: 2
          metadata:
            kedro-viz:
              layer: models
              preview_args: {}

    Python API:

    .. code-block:: python

        dataset = OptionalJSONDataset(filepath="data/06_models/rerank_tuning.json")
        assert dataset.load() is None  # nothing saved yet
        dataset.save({"retrieval_weight": 0.6})
        assert dataset.load() == {"retrieval_weight": 0.6}

    The arguments are those of ``kedro_datasets.json.JSONDataset`` (keyword-only
    ``filepath``, ``save_args``, ``version``, ``credentials``, ``fs_args``,
    ``metadata``).
    """

    def load(self) -> Any:
        """The latest (or pinned) record, or None when no version was ever saved."""
        pinned = self._version is not None and self._version.load is not None
        if not pinned and not self._exists():
            logger.info(
                "No version of %s saved yet; its consumers use their defaults.",
                self._filepath,
            )
            return None
        return super().load()
