"""The file list of a saved retrieval index: sizes and checksums, checked on load.

``index_io.save_index`` records every file of the folder in the manifest (its size,
and the SHA-256 of every file but the large score arrays, whose shapes are checked
instead); ``index_io.load_index`` refuses a folder whose files disagree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

#: Folder of the BM25 index (``bm25s`` save format) inside an index folder.
BM25_FOLDER = "bm25"


class RetrievalIndexFormatError(ValueError):
    """A retrieval index folder is missing, incomplete or inconsistent."""


def checksummed(name: str) -> bool:
    """Whether a file's SHA-256 is recorded (all but the large score arrays)."""
    return name != "embeddings.npy" and not (
        name.startswith(f"{BM25_FOLDER}/") and name.endswith(".npy")
    )


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_record(root: Path, path: Path) -> dict[str, Any]:
    """The manifest entry of one file of the folder ``root``."""
    name = path.relative_to(root).as_posix()
    return {
        "bytes": path.stat().st_size,
        "sha256": sha256(path) if checksummed(name) else None,
    }


def check_files(root: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists with its recorded size and checksum.

    Raises:
        RetrievalIndexFormatError: Naming each missing or changed file.
    """
    problems = []
    for name, record in manifest.get("files", {}).items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != record["bytes"]:
            problems.append(
                f"{name} has {path.stat().st_size} bytes, not {record['bytes']}"
            )
        elif record.get("sha256") and sha256(path) != record["sha256"]:
            problems.append(f"{name} does not match its recorded SHA-256")
    if problems or not manifest.get("files"):
        raise RetrievalIndexFormatError(
            f"Corrupt retrieval index at '{root}': "
            f"{'; '.join(problems) or 'the manifest lists no files'}. Rebuild it "
            "with `kedro run --pipelines=retrieval`."
        )
