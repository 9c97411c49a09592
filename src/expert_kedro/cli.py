"""``expert-recommend``: rank roster experts for one agenda from the command line.

Examples::

    expert-recommend -q "How are EU hospitals tendering infusion pumps?" \\
                     -q "Which suppliers gained share in Germany?"
    expert-recommend --file agenda.json            # JSON list of questions
    expert-recommend --file agenda.txt --top-k 3   # one question per line
    expert-recommend -q "..." --json | python -m json.tool
    expert-recommend -q "..." --adapter-version 2026-12-03T17.02.11.123Z

The CLI bootstraps the Kedro project (``--project-path``, default: the current
folder), reads the catalog and parameters of ``--env`` and loads the recommender as
the inference pipeline does (``recommender.loader.load_recommender``): the saved
``retrieval_index`` proposes the candidates (nothing is fit) and the fusion weight is
the one ``evaluation_llm`` tuned for the adapter (``rerank_tuning``) unless the
parameters set one (``-v`` logs which). It uses the latest ``lora_adapter`` version
unless ``--adapter-version`` names one (the folder names under
``data/06_models/lora_adapter/``).

Only the result goes to stdout (a table, or JSON with ``--json``); logs go to
stderr and are off unless ``-v``. An agenda whose prompt is longer than
``recommender.max_prompt_tokens`` is shortened by the length policy of training
(long questions cut to their opening, later questions left out) and ranked; one
line on stderr says so. Errors are one line on stderr with exit code 1, never a
traceback: an empty agenda, a JSON file that is not a list, a missing adapter
(train one with ``kedro run --pipelines=training``) and an adapter trained on
another base model or prompt layout than the configuration's.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from expert_kedro.console.agenda_input import read_questions
from expert_kedro.console.cli_output import echo_recommendations
from expert_kedro.console.errors import CLIError
from expert_kedro.console.terminal_logging import route_logs_to_stderr

__all__ = ["CLIError", "cli", "main", "recommend"]


def _overrides(
    top_k: int | None, mode: str | None, generate_text: bool, verbose: bool
) -> dict[str, Any]:
    """``recommender`` parameters set by options (no bar unless ``-v``)."""
    overrides: dict[str, Any] = {"progress_bar": verbose}
    if top_k is not None:
        overrides["top_k"] = top_k
    if mode is not None:
        overrides["mode"] = mode
    if generate_text:
        overrides["generate_text"] = True
    return overrides


@click.command(
    name="recommend", context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-q", "--question", "questions", multiple=True, help="Agenda question (repeatable)."
)
@click.option(
    "-f", "--file", default=None, help="Agenda file: JSON list or one question a line."
)
@click.option(
    "-k",
    "--top-k",
    type=click.IntRange(min=1),
    default=None,
    help="Experts to return (default: recommender.top_k).",
)
@click.option(
    "--mode",
    type=click.Choice(["rerank", "generative"]),
    default=None,
    help="Override recommender.mode.",
)
@click.option(
    "--adapter-version",
    default=None,
    help="lora_adapter version, a folder name under data/06_models/lora_adapter/ "
    "(default: the latest).",
)
@click.option(
    "--generate-text", is_flag=True, help="Also print the model's text for the top."
)
@click.option("--env", default=None, help="Kedro configuration environment.")
@click.option(
    "--project-path",
    type=click.Path(file_okay=False),
    default=".",
    help="Kedro project folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON records on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show logs (on stderr).")
def recommend(  # noqa: PLR0913, PLR0917 - one argument per option
    questions: tuple[str, ...],
    file: str | None,
    top_k: int | None,
    mode: str | None,
    adapter_version: str | None,
    generate_text: bool,
    env: str | None,
    project_path: str,
    as_json: bool,
    verbose: bool,
) -> None:
    """Recommend roster experts for an agenda (see the module docstring)."""
    from expert_kedro.console.project_recommender import (  # noqa: PLC0415
        recommend_for_agenda,
    )
    from expert_kedro.recommender.adapters import AdapterMismatchError  # noqa: PLC0415

    agenda = read_questions(questions, file)
    route_logs_to_stderr(verbose)
    try:
        # Anything a library prints while loading goes to stderr, not the result.
        with contextlib.redirect_stdout(sys.stderr):
            recommendations, metrics = recommend_for_agenda(
                agenda,
                project_path=Path(project_path).resolve(),
                env=env,
                adapter_version=adapter_version,
                overrides=_overrides(top_k, mode, generate_text, verbose),
                verbose=verbose,
            )
    except AdapterMismatchError as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    echo_recommendations(recommendations, metrics, as_json=as_json)


@click.group(name="expert_kedro")
def cli() -> None:
    """Project commands, added to ``kedro`` (``kedro recommend -q ...``)."""


# Kedro imports ``<package>.cli`` and adds its ``cli`` group to the ``kedro`` command.
cli.add_command(recommend)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point of ``expert-recommend``."""
    recommend.main(
        args=argv if argv is not None else sys.argv[1:], prog_name="expert-recommend"
    )
