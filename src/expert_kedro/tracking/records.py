"""What a run's reporting datasets become in MLflow: metric keys, values and steps.

Pure functions of the saved data (no MLflow import), so that the mapping is tested
without a tracking store:

* ``training_history`` -> one point per logged step of the training loss, learning
  rate and gradient norm, one point per evaluation of the validation loss and the
  ranking-validation metrics (``eval_rank_*``), and the run's summary numbers
  (tokens per second, peak memory, lowest validation loss...) under ``training/``;
* ``evaluation_metrics`` -> ``<split>/<system>/<variant>/<metric>`` with the value
  and its bootstrap interval (``.ci_low`` / ``.ci_high``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

_INVALID_KEY_CHARS = re.compile(r"[^\w./\- ]")

STEP_KEYS = ("loss", "learning_rate", "grad_norm")
"""Per-step entries of ``training_history["steps"]`` logged as curves."""

EVALUATION_SPLITS = {"systems": "test", "validation": "validation"}
"""Sections of ``evaluation_metrics`` and the split each one reports."""


class MetricPoint(NamedTuple):
    """One MLflow metric value (``step`` 0 for a single number)."""

    key: str
    value: float
    step: int = 0


def metric_key(*parts: str) -> str:
    """An MLflow metric key from name parts: ``/``-joined, ``@`` spelled ``_at_``.

    MLflow keys allow letters, digits, ``_ - . /`` and spaces; ``recall@10``
    becomes ``recall_at_10`` and any other character an underscore.

    Example:
        >>> metric_key("test", "hybrid+prior", "full", "recall@10")
        'test/hybrid_prior/full/recall_at_10'
    """
    joined = "/".join(str(part).replace("@", "_at_") for part in parts)
    return _INVALID_KEY_CHARS.sub("_", joined)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def history_points(history: Mapping[str, Any]) -> list[MetricPoint]:
    """The training curves and summary numbers of a ``training_history`` record.

    Args:
        history: The dict saved as ``training_history``
            (:func:`expert_kedro.modeling.training_history.summarise_history`).

    Returns:
        ``loss``, ``learning_rate`` and ``grad_norm`` at each logged step,
        ``eval_loss`` and every ``eval_rank_*`` at each evaluation (with its step),
        then the record's top-level numbers as ``training/<name>`` (step 0).
    """
    points = [
        MetricPoint(key, number, int(entry["step"]))
        for entry in history.get("steps", [])
        for key in STEP_KEYS
        if (number := _number(entry.get(key))) is not None
    ]
    points += [
        MetricPoint(metric_key(key), number, int(entry["step"]))
        for entry in history.get("eval", [])
        for key, value in entry.items()
        if key != "step" and (number := _number(value)) is not None
    ]
    points += [
        MetricPoint(metric_key("training", key), number)
        for key, value in history.items()
        if (number := _number(value)) is not None
    ]
    return points


def evaluation_points(report: Mapping[str, Any]) -> list[MetricPoint]:
    """Every system's metrics of an ``evaluation_metrics`` report.

    Args:
        report: The dict saved as ``evaluation_metrics``: sections ``systems``
            (test split) and ``validation`` of ``{system: {variant: {metric:
            {value, ci_low, ci_high}}}}``.

    Returns:
        ``<split>/<system>/<variant>/<metric>`` (the value) and the same key with
        ``.ci_low`` / ``.ci_high`` (the bootstrap interval), each at step 0.
    """
    points = []
    for section, split in EVALUATION_SPLITS.items():
        for system, variants in (report.get(section) or {}).items():
            for variant, metrics in variants.items():
                for metric, summary in metrics.items():
                    key = metric_key(split, system, variant, metric)
                    points += _summary_points(key, summary)
    return points


def _summary_points(key: str, summary: Any) -> list[MetricPoint]:
    """``key`` = the summary's value, ``key.ci_low`` / ``key.ci_high`` its interval."""
    if not isinstance(summary, Mapping):
        summary = {"value": summary}
    fields = {"value": key, "ci_low": f"{key}.ci_low", "ci_high": f"{key}.ci_high"}
    return [
        MetricPoint(name, number)
        for field, name in fields.items()
        if (number := _number(summary.get(field))) is not None
    ]
