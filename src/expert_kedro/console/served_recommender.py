"""The recommender behind ``expert-recommend serve``: loaded once, kept current.

It loads the project's recommender as a fresh ``expert-recommend`` call does
(``project_recommender.load_project_recommender``, hence
``recommender.loader.load_recommender``) and answers each request with that call's
output. Before each request it compares what a fresh call would load now with what
it loaded (``disk_state``): a new adapter version (a training run), a rebuilt
dataset or an edited configuration file means a reload, logged, so that answers
stay those of a fresh call. ``--adapter-version`` pins the adapter.

What a request may change: ``top_k`` and ``generate_text`` only select and format
the output, so they are applied per request. ``mode`` selects another model input
and ranker: a request for the other mode is refused with a message (rank it with
``--no-server``). A request for another adapter version than the one served is
``unavailable``, and the command ranks in its own process.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from expert_kedro.console.cli_output import render_recommendations
from expert_kedro.console.disk_state import DiskState, changed, disk_state
from expert_kedro.console.errors import CLIError
from expert_kedro.console.project_config import ProjectConfig, read_project_config
from expert_kedro.console.project_recommender import (
    adapter_version_on_disk,
    agenda_table,
    load_project_recommender,
)
from expert_kedro.console.server_protocol import PROTOCOL

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    config: ProjectConfig
    recommender: Any  # recommender.loader.LoadedRecommender
    adapter_version: str | None
    state: DiskState


class ServedRecommender:
    """A project's recommender that answers requests (see the module docstring).

    Args:
        project_path: Root of the Kedro project (absolute, bootstrapped).
        env: Configuration environment (None: the default one).
        adapter_version: Pinned ``lora_adapter`` version (None: the latest, and
            the next one as soon as it is saved).
    """

    def __init__(
        self, project_path: Path, env: str | None, adapter_version: str | None
    ) -> None:
        self.project_path = project_path
        self.env = env
        self.pinned = adapter_version
        self._loaded: _Loaded | None = None

    def _state(self, config: ProjectConfig) -> DiskState:
        from kedro.framework.project import settings  # noqa: PLC0415

        return disk_state(
            self.project_path / settings.CONF_SOURCE,
            config.catalog_config,
            adapter_version_on_disk(config, self.pinned),
        )

    def load(self) -> None:
        """Read the configuration and load the recommender from disk.

        Raises:
            CLIError: A dataset or the adapter is missing.
            ValueError: Invalid parameters, or an adapter that does not fit the
                configuration (``AdapterMismatchError``).
        """
        self._loaded = None
        gc.collect()  # the previous model's memory, before loading the next
        started = time.perf_counter()
        config = read_project_config(self.project_path, self.env)
        state = self._state(config)
        version = state["lora_adapter"]
        recommender = load_project_recommender(
            config, version or self.pinned, {"progress_bar": False}
        )
        self._loaded = _Loaded(config, recommender, version, state)
        logger.info(
            "Loaded the recommender (%s mode, adapter %s%s) in %.1f s.",
            recommender.settings.mode,
            version,
            ", pinned" if self.pinned else "",
            time.perf_counter() - started,
        )

    def refresh(self) -> None:
        """Reload when what a fresh call would load differs from what is loaded."""
        if self._loaded is None:
            logger.info("Loading again (the last load failed).")
            self.load()
            return
        now = self._state(self._loaded.config)
        names = changed(self._loaded.state, now)
        if not names:
            return
        if "lora_adapter" in names:
            logger.info(
                "New lora_adapter version %s (serving %s).",
                now["lora_adapter"],
                self._loaded.adapter_version,
            )
        logger.info("Reloading: changed on disk: %s.", ", ".join(names))
        self.load()

    def identity(self) -> dict[str, Any]:
        """Who answers: the ``ping`` answer."""
        loaded = self._loaded
        return {
            "status": "ok",
            "pid": os.getpid(),
            "project": str(self.project_path),
            "env": self.env,
            "adapter_version": loaded.adapter_version if loaded else None,
            "pinned": self.pinned is not None,
            "mode": loaded.recommender.settings.mode if loaded else None,
        }

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer to one request (never raises for a bad request).

        Args:
            request: A message of ``server_protocol``.

        Returns:
            An ``ok``, ``error`` or ``unavailable`` answer.
        """
        if request.get("protocol") != PROTOCOL:
            return _unavailable(f"protocol {request.get('protocol')} != {PROTOCOL}")
        if request.get("op") == "ping":
            return self.identity()
        if request.get("op") != "recommend":
            return _error(f"Unknown request {request.get('op')!r}.")
        try:
            self.refresh()
            return self._recommend(request)
        except CLIError as exc:
            return _error(exc.format_message())
        except ValueError as exc:  # AdapterMismatchError included
            return _error(str(exc) if _is_mismatch(exc) else str(exc).splitlines()[0])

    def _recommend(self, request: dict[str, Any]) -> dict[str, Any]:
        loaded = self._loaded
        settings = loaded.recommender.settings
        mode = request.get("mode")
        if mode is not None and mode != settings.mode:
            return _error(
                f"The expert-recommend server of this project ranks in "
                f"{settings.mode} mode (recommender.mode); add --no-server to rank "
                f"in {mode} mode."
            )
        wanted = request.get("adapter_version") or adapter_version_on_disk(
            loaded.config, None
        )
        if wanted != loaded.adapter_version:
            return _unavailable(
                f"adapter {wanted} asked, {loaded.adapter_version} served"
            )
        started = time.perf_counter()
        rows, metrics = _per_request(loaded.recommender, request).recommend(
            agenda_table(request.get("agenda"))
        )
        stdout, notes = render_recommendations(
            rows, metrics, as_json=bool(request.get("as_json"))
        )
        logger.info(
            "Ranked %d question(s) in %.2f s.",
            len(request["agenda"]),
            time.perf_counter() - started,
        )
        return {
            "status": "ok",
            "stdout": stdout,
            "notes": notes,
            "records": json.loads(rows.to_json(orient="records", force_ascii=False)),
            "metrics": metrics,
            "adapter_version": loaded.adapter_version,
        }


def _per_request(recommender: Any, request: dict[str, Any]) -> Any:
    """The loaded recommender with the request's ``top_k`` and ``generate_text``.

    Raises:
        ValueError: If ``top_k`` is not an integer >= 1.
    """
    settings = recommender.settings
    top_k = request.get("top_k")
    if top_k is not None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}.")
        settings = replace(settings, top_k=top_k)
    with_text = recommender.with_text
    if request.get("generate_text"):
        settings, with_text = replace(settings, generate_text=True), True
    return replace(recommender, settings=settings, with_text=with_text)


def _is_mismatch(exc: ValueError) -> bool:
    from expert_kedro.recommender.adapters import (  # noqa: PLC0415
        AdapterMismatchError,
    )

    return isinstance(exc, AdapterMismatchError)


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": " ".join(message.split())}


def _unavailable(reason: str) -> dict[str, Any]:
    return {"status": "unavailable", "reason": reason}
