"""The messages between ``expert-recommend`` and ``expert-recommend serve``.

One JSON object per line each way, then the connection closes. A request:

- ``{"op": "ping"}``: the server answers who it is (``pid``, ``project``, ``env``,
  ``adapter_version``, ``pinned``, ``mode``).
- ``{"op": "recommend", "agenda": [...], "top_k": int | null, "mode": str | null,
  "generate_text": bool, "adapter_version": str | null, "as_json": bool}``.

Every request carries ``protocol``; the answer's ``status`` is ``ok`` (``stdout``
and ``notes``: what the command prints on stdout and stderr; ``records`` and
``metrics``: the recommendations and ``inference_metrics``), ``error``
(``message``: the one-line error the command prints, exit code 1) or
``unavailable`` (``reason``: this server cannot answer as a fresh process would,
e.g. another adapter version was asked; the command then ranks in its own
process).
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

PROTOCOL = 1
"""Version of these messages; a server answers another one ``unavailable``."""

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Longest message read (an agenda file is far smaller)."""


def write_message(stream: BinaryIO, message: dict[str, Any]) -> None:
    """Write ``message`` as one JSON line and flush it."""
    data = json.dumps(message, ensure_ascii=False, default=_plain)
    stream.write(data.encode("utf-8") + b"\n")
    stream.flush()


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    """The next JSON line of ``stream`` (None: closed before a whole line came).

    Raises:
        ValueError: If the line is not a JSON object.
    """
    line = stream.readline(MAX_MESSAGE_BYTES + 1)
    if not line.endswith(b"\n"):
        return None
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("A message must be a JSON object.")
    return message


def _plain(value: Any) -> Any:
    """JSON form of numpy scalars and other values of the metrics."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)
