"""Folder-level I/O shared by the model datasets (``save_pretrained`` writes folders).

Local folders are written into a hidden temporary sibling and renamed into place, so
an interrupted save never leaves a half-written folder that ``_exists`` would accept.
Remote (fsspec) folders are written locally, then uploaded; loading a remote folder
downloads it into a temporary local directory first, because ``from_pretrained``
needs local files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_folder(
    fs: Any, protocol: str, target: str, writer: Callable[[str], None]
) -> None:
    """Create ``target`` by letting ``writer`` fill a local directory.

    Args:
        fs: fsspec filesystem of ``target``.
        protocol: fsspec protocol (``"file"`` for local paths).
        target: Final folder path.
        writer: Called with a local directory path to write into.
    """
    if protocol != "file":
        with tempfile.TemporaryDirectory() as tmp:
            writer(tmp)
            fs.put(tmp.rstrip("/") + "/", target, recursive=True)
        return
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        writer(str(tmp))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def local_folder(fs: Any, protocol: str, source: str) -> str:
    """Return a local path holding the folder ``source`` (downloaded if remote)."""
    if protocol == "file":
        return source
    local = tempfile.mkdtemp(prefix="expert-kedro-folder-")
    fs.get(source.rstrip("/") + "/", local, recursive=True)
    return local
