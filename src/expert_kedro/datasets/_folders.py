"""Folder-level I/O shared by the model datasets (``save_pretrained`` writes folders).

Local folders are written into a hidden temporary sibling and renamed into place, so
an interrupted save never leaves a half-written folder that ``_exists`` would accept.
The temporary name carries the writer's host and process id: a sibling left by a
process that was killed can then be told apart from one still being written.
Remote (fsspec) folders are written locally, then uploaded; loading a remote folder
downloads it into a temporary local directory first, because ``from_pretrained``
needs local files. :class:`VersionedFolderDataset` is the base of the versioned
datasets that save such folders.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, TypeVar

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)

_DI = TypeVar("_DI")
_DO = TypeVar("_DO")


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


class VersionedFolderDataset(AbstractVersionedDataset[_DI, _DO]):
    """Base of the datasets whose every version is a folder marked by one JSON file.

    It holds what these datasets share: the kedro-datasets constructor (fsspec
    filesystem, credentials, ``fs_args``, metadata), the description, and an
    ``_exists`` that asks for the :attr:`MARKER` file, which a save writes into the
    folder, so a folder left half-written never counts. A subclass sets
    :attr:`MARKER` and :attr:`MISSING`, and writes ``save``/``load`` with
    :meth:`_write_folder` and :meth:`_load_folder`.
    """

    MARKER: ClassVar[str]
    """File (JSON) in every complete folder."""
    MISSING: ClassVar[str]
    """Error when loading finds no complete folder; ``{path}``, ``{marker}`` fields."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Kedro records the constructor's arguments (``_init_config``) by wrapping
        # ``cls.__init__``: an inherited one must be wrapped unwrapped.
        if "__init__" not in cls.__dict__:
            cls.__init__ = inspect.unwrap(cls.__init__)  # type: ignore[method-assign]
        super().__init_subclass__(**kwargs)

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: Folder path (local or fsspec URL). With versioning, versions
                are ``<filepath>/<version>/<folder name>``.
            version: Kedro version; set by ``versioned: true`` in the catalog.
            credentials: fsspec credentials for remote filesystems.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata (kedro-viz layer, ...); ignored by Kedro.
        """
        protocol, path = get_protocol_and_path(filepath, version)
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _path(self, path: PurePosixPath) -> str:
        return get_filepath_str(path, self._protocol)

    def _before_write(self) -> None:
        """Hook run by :meth:`_write_folder` once the save path is free."""

    def _write_folder(self, writer: Callable[[str], None]) -> None:
        """Save a new version: ``writer`` fills the folder (see ``write_folder``)."""
        # Raises when this version already exists: a version is never overwritten.
        save_path = self._path(self._get_save_path())
        self._before_write()
        write_folder(self._fs, self._protocol, save_path, writer)

    def _load_folder(self) -> str:
        """Path of the latest (or pinned) complete version.

        Raises:
            DatasetError: When that folder lacks :attr:`MARKER` (:attr:`MISSING`).
        """
        remote = self._path(self._get_load_path())
        if not self._fs.exists(f"{remote}/{self.MARKER}"):
            raise DatasetError(self.MISSING.format(path=remote, marker=self.MARKER))
        return remote

    def _local_folder(self, remote: str) -> str:
        """A local path holding ``remote`` (downloaded if it is not local)."""
        return local_folder(self._fs, self._protocol, remote)

    def _read_json(self, path: str) -> dict[str, Any]:
        with self._fs.open(path, "r", encoding="utf-8") as file:
            return json.load(file)

    def _read_marker(self) -> dict[str, Any]:
        """:attr:`MARKER` of the latest (or pinned) version; ``{}`` when none."""
        # Resolving the load version formats error messages with repr(self), which
        # calls _describe() again: the guard breaks that loop.
        if getattr(self, "_reading_marker", False):
            return {}
        self._reading_marker = True
        try:
            if not self._exists():
                return {}
            path = self._path(self._get_load_path())
            return self._read_json(f"{path}/{self.MARKER}")
        finally:
            self._reading_marker = False

    def _exists(self) -> bool:
        try:
            path = self._path(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(f"{path}/{self.MARKER}")

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
        }
