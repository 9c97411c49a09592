"""``expert-recommend serve``: keep the recommender loaded and answer on a socket.

A fresh ``expert-recommend`` process spends most of its time importing torch,
transformers, peft and sentence-transformers and loading the model; a server pays
that once. It listens on the project's socket for its environment
(``server_address``), answers one request at a time (the model is not shared
between threads) with the answer a fresh call would print
(``served_recommender``), and runs in the foreground: Ctrl-C or SIGTERM stops it
and removes the socket. A socket file that no process answers on (a server that was
killed) is replaced; one that answers is left alone, with an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socketserver
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from expert_kedro.console.errors import CLIError
from expert_kedro.console.served_recommender import ServedRecommender
from expert_kedro.console.server_address import private_folder, socket_path
from expert_kedro.console.server_client import exchange
from expert_kedro.console.server_protocol import PROTOCOL, read_message, write_message

logger = logging.getLogger(__name__)

PING_TIMEOUT_S = 5.0
"""How long a socket's server may take to answer a ping before it counts as busy."""


class _RequestHandler(socketserver.StreamRequestHandler):
    """One connection: a JSON line in, a JSON line out."""

    def handle(self) -> None:
        try:
            request = read_message(self.rfile)
        except ValueError as exc:  # not JSON, or not an object
            message = f"Bad request: {exc}"
            write_message(self.wfile, {"status": "error", "message": message})
            return
        if request is not None:
            write_message(self.wfile, self._answer(request))

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.server.recommender.answer(request)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - the server keeps serving
            logger.exception("Request failed.")
            return {
                "status": "error",
                "message": f"The expert-recommend server failed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); see its log, or add "
                "--no-server.",
            }


class RecommendServer(socketserver.UnixStreamServer):
    """A Unix socket server holding one :class:`ServedRecommender`.

    Args:
        path: The socket to create (0600).
        recommender: What answers the requests.
    """

    def __init__(self, path: Path, recommender: ServedRecommender) -> None:
        self.recommender = recommender
        self.path = path
        old_umask = os.umask(0o177)  # the socket is born 0600
        try:
            super().__init__(str(path), _RequestHandler)
        finally:
            os.umask(old_umask)
        path.chmod(0o600)
        self.inode = path.stat().st_ino

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed connection (a client gone mid-answer) and keep serving."""
        logger.warning("A connection failed.", exc_info=True)

    def remove_socket(self) -> None:
        """Remove the socket file, unless another server has replaced it since."""
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == self.inode:
                self.path.unlink()


def claim_socket(path: Path) -> None:
    """Make ``path`` free for a new server: remove a stale socket there.

    Raises:
        CLIError: A server answers there, or the path is not a socket.
    """
    private_folder(path)
    if not path.exists() and not path.is_symlink():
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise CLIError(f"{path} exists and is not a socket; remove it first.")
    answer = exchange(path, {"op": "ping", "protocol": PROTOCOL}, PING_TIMEOUT_S)
    if answer is not None:
        raise CLIError(
            f"An expert-recommend server already serves this project and "
            f"environment on {path} (pid {answer.get('pid')}); stop it first."
        )
    if _accepts(path):
        raise CLIError(f"A process listens on {path} but does not answer; stop it.")
    path.unlink()
    logger.info("Removed a stale socket (no process answered): %s", path)


def _accepts(path: Path) -> bool:
    """Whether something accepts connections on ``path`` (a busy server)."""
    import socket  # noqa: PLC0415

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the server like Ctrl-C (KeyboardInterrupt), then is restored."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(project_path: Path, env: str | None, adapter_version: str | None) -> None:
    """Load the project's recommender and answer requests until stopped.

    Args:
        project_path: Root of the Kedro project (absolute, bootstrapped).
        env: Configuration environment (None: the default one).
        adapter_version: Pinned ``lora_adapter`` version (None: follow the latest).

    Raises:
        CLIError: Another server serves the project and environment, or the
            recommender cannot be loaded (the one-line error of a call).
    """
    path = socket_path(project_path, env)
    with _sigterm_as_interrupt():
        claim_socket(path)
        recommender = ServedRecommender(project_path, env, adapter_version)
        recommender.load()
        claim_socket(path)  # a server may have started while this one loaded
        server = RecommendServer(path, recommender)
        try:
            logger.info("Serving %s (env %s) on %s.", project_path, env, path)
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            logger.info("Stopping.")
        finally:
            server.server_close()
            server.remove_socket()
            logger.info("Stopped; removed %s.", path)
