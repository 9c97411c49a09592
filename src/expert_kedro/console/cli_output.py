"""What ``expert-recommend`` writes: the result on stdout, a note on stderr.

Only the result goes to stdout (a table, or JSON records), so that it can be piped;
a line on stderr says when the agenda had to be shortened to fit the prompt budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
import pandas as pd

from expert_kedro.console.tables import format_recommendations


def echo_recommendations(
    recommendations: pd.DataFrame, metrics: Mapping[str, Any], *, as_json: bool
) -> None:
    """Write one agenda's recommendations for the terminal.

    Args:
        recommendations: Rows of ``recommender.service.recommend`` (one agenda).
        metrics: Its metrics; ``prompt_fitting`` says whether the agenda was
            shortened (a note on stderr).
        as_json: JSON records on stdout instead of a table (and the generated
            text, when there is one).
    """
    _note_shortened(metrics.get("prompt_fitting") or {})
    if as_json:
        click.echo(recommendations.to_json(orient="records", force_ascii=False))
        return
    click.echo(format_recommendations(recommendations))
    if "generated_text" in recommendations and recommendations["generated_text"].any():
        click.echo("\n" + str(recommendations["generated_text"].iloc[0]))


def _note_shortened(fitting: Mapping[str, Any]) -> None:
    """One line on stderr when the agenda had to be shortened to fit."""
    if fitting.get("fallback_cases"):
        click.echo(
            "Note: the agenda does not fit recommender.max_prompt_tokens="
            f"{fitting['max_prompt_tokens']} even shortened; experts are ranked by "
            "the retriever alone.",
            err=True,
        )
    elif fitting.get("cases_shortened"):
        click.echo(
            "Note: the agenda was shortened to fit recommender.max_prompt_tokens="
            f"{fitting['max_prompt_tokens']} ({fitting['agenda_questions_shortened']} "
            f"question(s) cut, {fitting['agenda_questions_dropped']} left out).",
            err=True,
        )
