"""Logs of a command-line run: on stderr, and quiet unless asked for.

``expert-recommend`` prints its result on stdout (a table, or JSON for another
program), so nothing else may reach stdout. Kedro's default logging writes to
stdout and loading a model makes transformers, torch and peft log and warn; by
default only errors are kept, ``-v`` shows everything, always on stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import sys
import warnings

_LIBRARY_LOGGERS = (
    "kedro",
    "expert_kedro",
    "transformers",
    "torch",
    "peft",
    "accelerate",
    "bitsandbytes",
    "sentence_transformers",
    # The tracking extra: kedro-mlflow sets up MLflow's store when the context loads.
    "kedro_mlflow",
    "mlflow",
    "alembic",
    "py.warnings",
)


def route_logs_to_stderr(verbose: bool) -> None:
    """Send every log record to stderr; keep errors only unless ``verbose``.

    Call it again after Kedro configures its logging (``bootstrap_project``
    re-applies Kedro's configuration, whose handler writes to stdout).

    Args:
        verbose: Show INFO logs and Python warnings (``-v``).
    """
    level = logging.INFO if verbose else logging.ERROR
    logging.captureWarnings(verbose)
    _import_tracking_plugin(verbose)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if not verbose:
        warnings.simplefilter("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "info" if verbose else "error")
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.set_verbosity(level)
        if not verbose:
            hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def _import_tracking_plugin(verbose: bool) -> None:
    """Import kedro-mlflow's hook (the ``tracking`` extra) now, if installed.

    The session would import it later through its plugin entry point; on import
    kedro-mlflow sets its logger to INFO and MLflow prints a warning whatever the
    warning filters. Imported here, before the handlers and levels are set, with
    what it prints hidden unless ``verbose`` (then on stderr).
    """
    # stdout is the command's result: what the import logs goes to stderr.
    shown = sys.stderr if verbose else io.StringIO()
    with (
        contextlib.redirect_stdout(shown),
        contextlib.redirect_stderr(shown),
        contextlib.suppress(ImportError),
    ):
        importlib.import_module("kedro_mlflow.framework.hooks.mlflow_hook")
