"""Logs of a command-line run: on stderr, and quiet unless asked for.

``expert-recommend`` prints its result on stdout (a table, or JSON for another
program), so nothing else may reach stdout. Kedro's default logging writes to
stdout and loading a model makes transformers, torch and peft log and warn; by
default only errors are kept, ``-v`` shows everything, always on stderr.
"""

from __future__ import annotations

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
    # The tracking extra, when a `kedro` command imported kedro-mlflow's plugin.
    "kedro_mlflow",
    "mlflow",
    "alembic",
    "py.warnings",
)


def route_logs_to_stderr(verbose: bool, *, libraries: bool = True) -> None:
    """Send every log record to stderr; keep errors only unless ``verbose``.

    Call it again after Kedro configures its logging (``bootstrap_project``
    re-applies Kedro's configuration, whose handler writes to stdout).

    Args:
        verbose: Show INFO logs and Python warnings (``-v``).
        libraries: Also set transformers' own verbosity (imports transformers;
            False for a call that a server answers, which imports no library).
    """
    level = logging.INFO if verbose else logging.ERROR
    logging.captureWarnings(verbose)
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
    if not libraries:
        return
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.set_verbosity(level)
        if not verbose:
            hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
