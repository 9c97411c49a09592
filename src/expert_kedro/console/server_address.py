"""Where the ``expert-recommend serve`` of a project and environment listens.

One Unix domain socket per project folder and configuration environment, so that a
call finds the server that loaded the same configuration: ``<project>/data/
.expert-recommend/<env>.sock`` (``default.sock`` without ``--env``). ``data/`` is
gitignored and holds what the project builds, which a server's socket is too. The
folder is private (0700) and the socket 0600: anyone who can connect can make the
server rank. A socket path must fit the kernel's limit (``sun_path``, 108 bytes on
Linux); a project deeper than that gets a private folder under the temporary
directory instead, named after a hash of the project path.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

SOCKET_FOLDER = Path("data") / ".expert-recommend"
"""Folder of the sockets, relative to the project root."""

MAX_SOCKET_PATH_BYTES = 100
"""Longest socket path used (Linux allows 107 bytes; some systems fewer)."""


def env_name(env: str | None) -> str:
    """File-name-safe name of a configuration environment (``default`` for None)."""
    if not env:
        return "default"
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", env)


def socket_path(project_path: Path, env: str | None) -> Path:
    """The socket of the server of ``project_path`` and ``env``.

    Args:
        project_path: Root of the Kedro project (absolute).
        env: Configuration environment (None: the default one).

    Returns:
        The socket's path (its folder may not exist yet).
    """
    path = project_path / SOCKET_FOLDER / f"{env_name(env)}.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES:
        return path
    digest = hashlib.sha256(os.fsencode(project_path)).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"expert-recommend-{os.getuid()}"
    return folder / f"{digest}-{env_name(env)}.sock"


def private_folder(path: Path) -> None:
    """Create the socket's folder, readable by its owner only.

    Raises:
        PermissionError: If the folder belongs to another user.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
