"""Human-readable views of ``evaluation_metrics``: markdown table and comparison plot.

Both read only the metrics dictionary, so the README table can be regenerated from a
saved ``evaluation_metrics`` JSON without re-running the evaluation::

    from expert_kedro.evaluation.reporting import render_results_table

    print(render_results_table(json.load(open(path))))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from expert_kedro.evaluation.metrics import METRIC_NAMES
from expert_kedro.evaluation.recall import depth_of

METRIC_LABELS = {"hit@1": "Hit@1", "hit@5": "Hit@5", "mrr": "MRR", "ndcg@5": "nDCG@5"}
VARIANT_LABELS = {"full": "full agenda", "partial": "partial agenda (3-4 questions)"}


def _cell(entry: Mapping[str, float] | None) -> str:
    if not entry:
        return "–"
    return f"{entry['value']:.3f} [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"


def _rows(section: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [
        (system, variant, section[system][variant])
        for system in section
        for variant in ("full", "partial")
        if variant in section[system]
    ]


def _columns(section: Mapping[str, Any]) -> list[str]:
    """The ranking metrics, then every ``recall@K`` the section holds, by ``K``."""
    found = {m for system in section.values() for v in system.values() for m in v}
    recall = sorted((m for m in found if depth_of(m) is not None), key=depth_of)
    return [*METRIC_NAMES, *recall]


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.capitalize())


def render_results_table(metrics: Mapping[str, Any], section: str = "systems") -> str:
    """Markdown table of every system x agenda variant with 95% CIs.

    Args:
        metrics: The ``evaluation_metrics`` dictionary.
        section: ``"systems"`` (test split, the headline) or ``"validation"``.

    Returns:
        A markdown table followed by a one-paragraph caption.

    Raises:
        KeyError: If the section is absent from ``metrics``.
    """
    if section not in metrics:
        raise KeyError(f"evaluation_metrics has no '{section}' section.")
    columns = _columns(metrics[section])
    header = "| System | Agenda | " + " | ".join(_label(m) for m in columns)
    lines = [header + " |", "|" + "---|" * (len(columns) + 2)]
    for system, variant, values in _rows(metrics[section]):
        cells = " | ".join(_cell(values.get(metric)) for metric in columns)
        lines.append(f"| {system} | {variant} | {cells} |")
    split = "test" if section == "systems" else section
    counts = metrics.get("n_projects", {})
    boot = metrics.get("bootstrap", {})
    machine = metrics.get("machine", {})
    partial = counts.get(f"{split}_partial")
    variants = f" (partial-agenda variants: {partial})" if partial is not None else ""
    caption = (
        f"\n{split.capitalize()} split: {counts.get(split, '?')} projects{variants}, "
        f"roster of {metrics.get('roster_size', '?')} experts. Value [95% CI] from "
        f"{boot.get('n_boot', '?')} bootstrap resamples of projects "
        f"(seed {boot.get('seed', '?')}). Generated {metrics.get('date', '?')} on "
        f"{machine.get('description', '?')}."
    )
    return "\n".join(lines) + "\n" + caption + "\n"


def compact_table(metrics: Mapping[str, Any]) -> str:
    """Narrow fixed-width summary of the test results for the run log (values only)."""
    rows = _rows(metrics["systems"])
    columns = _columns(metrics["systems"])
    width = max([len("system"), *(len(system) for system, _, _ in rows)]) + 2
    widths = [max(7, len(m) + 1) for m in columns]
    head = "".join(f"{m:>{w}}" for m, w in zip(columns, widths, strict=True))
    lines = [f"{'system':<{width}}{'agenda':<9}{head}"]
    for system, variant, values in rows:
        cells = (
            f"{values[m]['value']:>{w}.3f}" if m in values else f"{'-':>{w}}"
            for m, w in zip(columns, widths, strict=True)
        )
        lines.append(f"{system:<{width}}{variant:<9}" + "".join(cells))
    return "\n".join(lines)


def plot_comparison(metrics: Mapping[str, Any]) -> Figure:
    """Bar chart of every metric per system, full vs partial agendas, with 95% CIs.

    Args:
        metrics: The ``evaluation_metrics`` dictionary.

    Returns:
        A matplotlib figure (one panel per metric).
    """
    section = metrics["systems"]
    systems = list(section)
    figure = Figure(
        figsize=(max(8.0, 1.6 * len(systems) + 3), 7.5), layout="constrained"
    )
    axes = figure.subplots(2, 2, sharey=True).ravel()
    width = 0.38
    x = np.arange(len(systems))
    for axis, metric in zip(axes, METRIC_NAMES, strict=True):
        for offset, variant in ((-width / 2, "full"), (width / 2, "partial")):
            entries = [section[s].get(variant, {}).get(metric) for s in systems]
            values = np.array([e["value"] if e else np.nan for e in entries])
            low = np.array([e["value"] - e["ci_low"] if e else 0.0 for e in entries])
            high = np.array([e["ci_high"] - e["value"] if e else 0.0 for e in entries])
            axis.bar(
                x + offset,
                values,
                width,
                yerr=np.vstack([low, high]),
                capsize=3,
                label=VARIANT_LABELS[variant],
            )
        axis.set_title(METRIC_LABELS[metric])
        axis.set_xticks(x, systems, rotation=20, ha="right")
        axis.set_ylim(0, 1.05)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper left", fontsize="small")
    counts = metrics.get("n_projects", {})
    figure.suptitle(
        f"Expert recommendation on {counts.get('test', '?')} test projects "
        "(95% bootstrap CIs over projects)"
    )
    return figure
