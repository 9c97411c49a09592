"""Ask a running ``expert-recommend serve`` instead of loading the model here.

A call first tries the socket of its project and environment
(:func:`~expert_kedro.console.server_address.socket_path`). Nothing there, nobody
listening (a stale socket) or no whole answer: the caller ranks in its own process,
as without a server. Only the standard library is imported, so that a call answered
by a server starts in well under a second.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from expert_kedro.console.server_address import socket_path
from expert_kedro.console.server_protocol import PROTOCOL, read_message, write_message

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
"""Longest wait for a connection (a live server accepts at once)."""


def exchange(
    path: Path, request: dict[str, Any], timeout: float | None = None
) -> dict[str, Any] | None:
    """Send ``request`` to the server at ``path`` and return its answer.

    Args:
        path: The server's socket.
        request: The request (``protocol`` is added).
        timeout: Longest wait for the answer in seconds (None: as long as it
            takes; ranking on a CPU takes seconds, a reload longer).

    Returns:
        The answer, or None when no server answered (no socket, nobody listening,
        connection closed before a whole answer, timeout).
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(str(path))
            sock.settimeout(timeout)
            with sock.makefile("wb") as out:
                write_message(out, {**request, "protocol": PROTOCOL})
            with sock.makefile("rb") as answers:
                return read_message(answers)
    except (OSError, ValueError) as exc:
        logger.debug("No answer from %s: %s", path, exc)
        return None


def ask_server(
    project_path: Path, env: str | None, request: dict[str, Any]
) -> dict[str, Any] | None:
    """The answer of the server of this project and environment, if one serves it.

    Args:
        project_path: Root of the Kedro project (absolute).
        env: Configuration environment (None: the default one).
        request: A ``recommend`` request (see ``server_protocol``).

    Returns:
        An ``ok`` or ``error`` answer; None when the call must rank in its own
        process (no server, or the server cannot answer this request as a fresh
        process would).
    """
    path = socket_path(project_path, env)
    if not path.exists():
        return None
    answer = exchange(path, request)
    if answer is None or answer.get("status") not in ("ok", "error"):
        reason = (answer or {}).get("reason", "no answer")
        logger.info("Not answered by the server at %s (%s).", path, reason)
        return None
    logger.info(
        "Answered by the server at %s (adapter %s).",
        path,
        answer.get("adapter_version"),
    )
    return answer
