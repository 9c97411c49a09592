"""Folder-level I/O shared by the model datasets (``save_pretrained`` writes folders).

Local folders are written into a hidden temporary sibling and renamed into place, so
an interrupted save never leaves a half-written folder that ``_exists`` would accept.
The temporary name carries the writer's host and process id: a sibling left by a
process that was killed can then be told apart from one still being written.
Remote (fsspec) folders are written locally, then uploaded; loading a remote folder
downloads it into a temporary local directory first, because ``from_pretrained``
needs local files.
"""

from __future__ import annotations

import os
import shutil
import socket
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
    prefix = f"{temp_prefix(final.name)}{socket.gethostname()}-{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix))
    try:
        writer(str(tmp))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def temp_prefix(name: str) -> str:
    """Start of the name of the hidden folder that ``write_folder`` fills first."""
    return f".{name}.tmp-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def abandoned_temp_folder(path: Path, name: str) -> bool:
    """Whether ``path`` is a temporary folder of ``name`` whose writer is gone.

    Only a writer on this host whose process no longer exists counts: a folder
    of another host, of a live process or of an unknown layout is kept.

    Args:
        path: A folder next to (or instead of) the final ``name`` folder.
        name: Final folder name that ``write_folder`` was creating.
    """
    prefix = temp_prefix(name)
    if not path.name.startswith(prefix):
        return False
    parts = path.name[len(prefix) :].rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():  # noqa: PLR2004 - host, pid, random
        return False
    host, pid, _ = parts
    return host == socket.gethostname() and not _process_alive(int(pid))


def local_folder(fs: Any, protocol: str, source: str) -> str:
    """Return a local path holding the folder ``source`` (downloaded if remote)."""
    if protocol == "file":
        return source
    local = tempfile.mkdtemp(prefix="expert-kedro-folder-")
    fs.get(source.rstrip("/") + "/", local, recursive=True)
    return local
