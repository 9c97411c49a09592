"""Plain-text tables of recommendations for a terminal (CLI and run summaries).

The CSV written by inference is the contract; these tables are for reading: scores
rounded, long text cut, the first ranks of the first agendas only when asked.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

CLI_COLUMNS = ("rank", "expert_id", "expert_name", "score", "expert_headline")
"""Columns of ``expert-recommend``'s table (one agenda)."""

SUMMARY_COLUMNS = ("case_id", "rank", "expert_id", "expert_name", "score")
"""Columns of the table that ends an inference run (several agendas)."""

_TEXT_WIDTH = {"expert_name": 32, "expert_headline": 70}


def format_recommendations(
    recommendations: pd.DataFrame,
    columns: Sequence[str] = CLI_COLUMNS,
    *,
    top: int | None = None,
    max_cases: int | None = None,
) -> str:
    """A readable table of ranked experts.

    Args:
        recommendations: Rows of the ``recommendations`` dataset (``case_id``,
            ``rank``, ``expert_id``, ``expert_name``, ``score``, profile fields).
        columns: Columns shown, in order.
        top: Ranks shown per agenda (None: all).
        max_cases: Agendas shown, in file order (None: all); a last line counts
            the agendas left out.

    Returns:
        The table as text (no trailing newline).
    """
    shown = recommendations
    if top is not None:
        shown = shown[shown["rank"] <= top]
    cases = list(dict.fromkeys(shown["case_id"])) if "case_id" in shown else []
    left_out = 0
    if max_cases is not None and len(cases) > max_cases:
        left_out = len(cases) - max_cases
        shown = shown[shown["case_id"].isin(cases[:max_cases])]
    shown = shown[list(columns)].copy()
    shown["score"] = shown["score"].map(lambda s: f"{s:.3f}")
    for column, width in _TEXT_WIDTH.items():
        if column in shown:
            shown[column] = (
                shown[column]
                .astype(str)
                .map(lambda text, width=width: _cut(text, width))
            )
    text = shown.to_string(index=False)
    if left_out:
        text += f"\n... and {left_out} more agenda(s) in the file."
    return text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
