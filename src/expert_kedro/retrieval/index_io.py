"""On-disk format of a ``RetrievalIndex``: one folder, plain files, a JSON manifest.

::

    manifest.json          what the index is (settings, fusion, tuning, encoder,
                           fingerprint, shapes) and the size of every file below
    expert_ids.npy         roster ids as text, the column order of every score
    embeddings.npy         [n_experts, dimension] unit-length float32 expert vectors
    popularity.npy         training projects per expert, float64
    timeline/              training bookings in time order (recent activity), when
                           project times were known: project_ids, times,
                           booking_project, booking_expert (.npy)
    indexed_projects.json  indexed training project ids and agenda digests
    bm25/                  ``bm25s``' own save format + the tokenizer's vocabulary

``manifest.json`` is written last, so a folder without it is incomplete. Loading
checks every file against the manifest before use (the size of each file, and the
SHA-256 of every file but the large arrays, whose shapes are checked instead; so
reordered ids or counts cannot silently misalign the scores) and reads no model:
only the query encoder is loaded, lazily, on the first dense or hybrid query.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from expert_kedro.identifiers import sorted_ids
from expert_kedro.retrieval.bm25 import BM25Retriever
from expert_kedro.retrieval.dense import DenseRetriever
from expert_kedro.retrieval.encoder import EncoderInfo
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.index_files import (
    BM25_FOLDER,
    RetrievalIndexFormatError,
    check_files,
    file_record,
)
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.prior import describe_candidate_stage
from expert_kedro.retrieval.settings import RetrievalSettings
from expert_kedro.retrieval.timeline import Timeline

logger = logging.getLogger(__name__)

FORMAT = "expert_kedro.retrieval_index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def _id_array(expert_ids: Any) -> np.ndarray:
    """Roster ids as a pickle-free array: numbers stay numbers, anything else text."""
    ids = np.asarray(expert_ids)
    return ids.astype(np.str_) if ids.dtype == object else ids


_ARRAYS = ("expert_ids.npy", "embeddings.npy", "popularity.npy")
_INDEXED = "indexed_projects.json"
_TIMELINE = "timeline"
_TOKENIZER_VOCAB = "vocab.tokenizer.json"
_TOKENIZER_STOPWORDS = "stopwords.tokenizer.json"


def save_index(index: RetrievalIndex, folder: str | Path) -> dict[str, Any]:
    """Write ``index`` into ``folder`` (created; the manifest is written last).

    Args:
        index: A tuned index.
        folder: Local folder to fill.

    Returns:
        The manifest.

    Raises:
        RetrievalIndexFormatError: If the index has no fusion weight yet.
    """
    if not index.is_tuned:
        raise RetrievalIndexFormatError(
            "Refusing to save a RetrievalIndex without a fusion weight; run "
            "tune_retrieval_index first so consumers get the tuned hybrid."
        )
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    np.save(
        root / "expert_ids.npy",
        _id_array(index.expert_ids),
    )
    np.save(root / "embeddings.npy", np.asarray(index.embeddings, dtype=np.float32))
    np.save(root / "popularity.npy", np.asarray(index.popularity_counts, dtype=float))
    indexed = {
        "project_ids": sorted_ids(index.indexed_project_ids),
        "agenda_digests": sorted(index.indexed_agenda_digests()),
    }
    (root / _INDEXED).write_text(json.dumps(indexed), encoding="utf-8")
    if index.timeline is not None:
        index.timeline.save(root / _TIMELINE)
    index.bm25.index.save(root / BM25_FOLDER, show_progress=False)
    index.bm25.tokenizer.save_vocab(str(root / BM25_FOLDER), _TOKENIZER_VOCAB)
    index.bm25.tokenizer.save_stopwords(str(root / BM25_FOLDER), _TOKENIZER_STOPWORDS)
    manifest = _describe(index)
    manifest["files"] = {
        path.relative_to(root).as_posix(): file_record(root, path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    logger.info(
        "Saved the retrieval index of %d experts (%s, bm25_weight=%s) to %s.",
        len(index.expert_ids),
        index.settings.hybrid.fusion,
        index.bm25_weight,
        root,
    )
    return manifest


def _describe(index: RetrievalIndex) -> dict[str, Any]:
    """Manifest fields that say what the index is (the file list is added last)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "summary": index.summary(),
        "n_experts": len(index.expert_ids),
        "embedding_shape": list(index.embeddings.shape),
        "fingerprint": index.fingerprint,
        "built_at": index.built_at,
        "settings": index.settings.to_dict(),
        "fusion": {
            "fusion": index.settings.hybrid.fusion,
            "rrf_k": int(index.settings.hybrid.rrf_k),
            "bm25_weight": index.bm25_weight,
            "prior_weight": index.prior_weight,
            "recency_window": index.recency_window,
            "recency_weight": index.recency_weight,
        },
        "timeline": index.timeline and index.timeline.record(),
        "tuning": index.tuning,
        "encoder": asdict(index.encoder),
        "fit_seconds": index.fit_seconds,
        "libraries": {"bm25s": bm25s.__version__, "numpy": np.__version__},
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of an index folder, checked for format and version.

    Raises:
        RetrievalIndexFormatError: If it is missing, unreadable or of another format.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise RetrievalIndexFormatError(
            f"No retrieval index at '{folder}' (missing {MANIFEST}); build one with "
            "`kedro run --pipelines=retrieval`."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RetrievalIndexFormatError(f"Unreadable {path}: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != (
        FORMAT_VERSION
    ):
        raise RetrievalIndexFormatError(
            f"{path} is not a version {FORMAT_VERSION} {FORMAT} manifest (found "
            f"{manifest.get('format')!r} version {manifest.get('format_version')!r}); "
            "rebuild the index with `kedro run --pipelines=retrieval`."
        )
    return manifest


def _load_bm25(root: Path, settings: RetrievalSettings, ids: np.ndarray, mmap: bool):
    folder = root / BM25_FOLDER
    index = bm25s.BM25.load(folder, mmap=mmap, load_corpus=False, show_progress=False)
    tokenizer = bm25s.tokenization.Tokenizer(stopwords=[])
    tokenizer.load_stopwords(str(folder), _TOKENIZER_STOPWORDS)
    tokenizer.load_vocab(str(folder), _TOKENIZER_VOCAB)
    return BM25Retriever.from_index(
        ids,
        index,
        tokenizer,
        k1=float(settings.bm25.k1),
        b=float(settings.bm25.b),
        method=settings.bm25.method,
        stopwords=settings.bm25.stopwords,
    )


def load_index(
    folder: str | Path, *, mmap: bool = False, device: str | None = None
) -> RetrievalIndex:
    """Read an index saved by ``save_index``; no model is loaded here.

    Args:
        folder: Local index folder.
        mmap: Memory-map the arrays instead of reading them (large rosters).
        device: Torch device of the query encoder; default: the recorded one.

    Returns:
        The index, scoring exactly like the one that was saved.

    Raises:
        RetrievalIndexFormatError: Naming the missing, truncated or inconsistent file.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    try:
        check_files(root, manifest)
    except (KeyError, TypeError) as exc:
        raise RetrievalIndexFormatError(
            f"Corrupt retrieval index at '{root}': malformed file list in {MANIFEST} "
            f"({type(exc).__name__}: {exc})."
        ) from None
    try:
        index = _read_index(root, manifest, mmap=mmap, device=device)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RetrievalIndexFormatError(
            f"Corrupt retrieval index at '{root}': {type(exc).__name__}: {exc}. "
            "Rebuild it with `kedro run --pipelines=retrieval`."
        ) from None
    logger.info("Candidate retriever: %s.", describe_candidate_stage(index))
    return index


def _read_index(
    root: Path, manifest: dict[str, Any], *, mmap: bool, device: str | None
) -> RetrievalIndex:
    mode = "r" if mmap else None
    ids, embeddings, counts = (
        np.load(root / name, mmap_mode=mode, allow_pickle=False) for name in _ARRAYS
    )
    if list(embeddings.shape) != manifest["embedding_shape"]:
        raise ValueError(
            f"embeddings.npy has shape {list(embeddings.shape)}, the manifest says "
            f"{manifest['embedding_shape']}"
        )
    indexed = json.loads((root / _INDEXED).read_text(encoding="utf-8"))
    settings = RetrievalSettings.from_params(manifest["settings"])
    encoder = EncoderInfo(**manifest["encoder"]).on_device(device)
    return RetrievalIndex(
        bm25=_load_bm25(root, settings, ids, mmap),
        dense=DenseRetriever.from_embeddings(
            ids,
            embeddings,
            encoder.load,
            profile_weight=float(settings.dense.profile_weight),
        ),
        popularity=PopularityRetriever.from_counts(ids, counts),
        encoder=encoder,
        settings=settings,
        fingerprint=manifest["fingerprint"],
        indexed_project_ids=frozenset(indexed["project_ids"]),
        indexed_agenda_digests=frozenset(indexed["agenda_digests"]),
        bm25_weight=manifest["fusion"]["bm25_weight"],
        tuning=manifest.get("tuning"),
        built_at=manifest.get("built_at"),
        fit_seconds=manifest.get("fit_seconds"),
        # Absent from an index saved before the prior: the plain hybrid.
        prior_weight=manifest["fusion"].get("prior_weight", 0.0),
        # Absent from an index saved before recency: no recency term.
        timeline=Timeline.load(root / _TIMELINE, manifest["timeline"], len(ids))
        if manifest.get("timeline")
        else None,
        recency_window=manifest["fusion"].get("recency_window"),
        recency_weight=manifest["fusion"].get("recency_weight", 0.0),
    )
