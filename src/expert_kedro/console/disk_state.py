"""What a served recommender was loaded from, to notice when it changes on disk.

``expert-recommend serve`` must answer as a fresh call would. A fresh call reads
the configuration files and loads the latest version of each dataset, so the server
compares, before each request, a cheap fingerprint of those (modification times of
the files under ``conf/`` and of each dataset's path and its direct entries, where
a new version adds a folder) with the one it loaded, and the ``lora_adapter``
version a fresh call would load; any difference means a reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOADED_DATASETS = (
    "base_model",
    "expert_roster",
    "train_pairs",
    "retrieval_index",
    "rerank_tuning",
)
"""Datasets a call loads besides ``lora_adapter`` (whose version is compared)."""

DiskState = dict[str, Any]


def conf_fingerprint(conf_folder: Path) -> tuple[tuple[str, int, int], ...]:
    """``(path, mtime_ns, size)`` of every file under the configuration folder."""
    entries = []
    for path in sorted(conf_folder.rglob("*")):
        if path.is_file():
            info = path.stat()
            entries.append((path.as_posix(), info.st_mtime_ns, info.st_size))
    return tuple(entries)


def path_fingerprint(filepath: str | None) -> tuple[tuple[str, int], ...] | None:
    """Modification times of a local dataset path and its direct entries.

    None for a dataset without a local path (memory, remote storage: not watched).
    """
    if not filepath or "://" in filepath:
        return None
    path = Path(filepath)
    if not path.exists():
        return ()
    try:
        entries = [path, *sorted(path.iterdir())] if path.is_dir() else [path]
    except OSError:  # removed or replaced while listed: changed anyway
        return ()
    return tuple((p.name, _mtime_ns(p)) for p in entries)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # removed since listed
        return -1


def disk_state(
    conf_folder: Path, catalog_config: dict[str, Any], adapter_version: str | None
) -> DiskState:
    """The fingerprint of what a fresh call would load now.

    Args:
        conf_folder: The project's configuration folder.
        catalog_config: The catalog entries (absolute paths).
        adapter_version: The ``lora_adapter`` version a fresh call would load.

    Returns:
        One entry per watched input: ``conf``, ``lora_adapter`` and each of
        :data:`LOADED_DATASETS`.
    """
    state: DiskState = {
        "conf": conf_fingerprint(conf_folder),
        "lora_adapter": adapter_version,
    }
    for name in LOADED_DATASETS:
        entry = catalog_config.get(name) or {}
        state[name] = path_fingerprint(entry.get("filepath"))
    return state


def changed(before: DiskState, after: DiskState) -> list[str]:
    """Names of the inputs whose fingerprint differs."""
    return [name for name in after if before.get(name) != after[name]]
