"""What ``expert-recommend`` writes: the result on stdout, a note on stderr.

Only the result goes to stdout (a table, or JSON records), so that it can be piped;
a line on stderr says when the agenda had to be shortened to fit the prompt budget.
:func:`render_recommendations` builds both texts, so that a call answered by
``expert-recommend serve`` prints what an in-process call prints, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # a call answered by a server prints without importing pandas
    import pandas as pd


def render_recommendations(
    recommendations: pd.DataFrame, metrics: Mapping[str, Any], *, as_json: bool
) -> tuple[str, list[str]]:
    """The text of one agenda's recommendations for the terminal.

    Args:
        recommendations: Rows of ``recommender.service.recommend`` (one agenda).
        metrics: Its metrics; ``prompt_fitting`` says whether the agenda was
            shortened (a note on stderr).
        as_json: JSON records instead of a table (and the generated text, when
            there is one).

    Returns:
        ``(stdout, notes)``: the text for stdout, newline-terminated, and the
        lines for stderr.
    """
    from expert_kedro.console.tables import format_recommendations  # noqa: PLC0415

    notes = _shortened_notes(metrics.get("prompt_fitting") or {})
    if as_json:
        return recommendations.to_json(orient="records", force_ascii=False) + "\n", (
            notes
        )
    text = format_recommendations(recommendations) + "\n"
    if "generated_text" in recommendations and recommendations["generated_text"].any():
        text += "\n" + str(recommendations["generated_text"].iloc[0]) + "\n"
    return text, notes


def echo_rendered(stdout: str, notes: list[str]) -> None:
    """Write a rendered result: the notes on stderr, then the result on stdout."""
    for note in notes:
        click.echo(note, err=True)
    click.echo(stdout, nl=False)


def echo_recommendations(
    recommendations: pd.DataFrame, metrics: Mapping[str, Any], *, as_json: bool
) -> None:
    """Write one agenda's recommendations for the terminal (see :func:`render_...`).

    Args:
        recommendations: Rows of ``recommender.service.recommend`` (one agenda).
        metrics: Its metrics.
        as_json: JSON records on stdout instead of a table.
    """
    echo_rendered(*render_recommendations(recommendations, metrics, as_json=as_json))


def _shortened_notes(fitting: Mapping[str, Any]) -> list[str]:
    """One line for stderr when the agenda had to be shortened to fit."""
    if fitting.get("fallback_cases"):
        return [
            "Note: the agenda does not fit recommender.max_prompt_tokens="
            f"{fitting['max_prompt_tokens']} even shortened; experts are ranked by "
            "the retriever alone."
        ]
    if fitting.get("cases_shortened"):
        return [
            "Note: the agenda was shortened to fit recommender.max_prompt_tokens="
            f"{fitting['max_prompt_tokens']} ({fitting['agenda_questions_shortened']} "
            f"question(s) cut, {fitting['agenda_questions_dropped']} left out)."
        ]
    return []
