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

``expert-recommend serve`` keeps the recommender loaded in a foreground process and
answers calls on a Unix socket of the project and environment
(``console/recommend_server.py``); a call first asks it and prints its answer
(the same output, errors and exit code), without importing torch or pandas. A
call ranks in its own process when no server answers, when it asks for another
adapter version than the one served, or with ``--no-server``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from expert_kedro.console.agenda_input import read_questions
from expert_kedro.console.errors import CLIError
from expert_kedro.console.terminal_logging import route_logs_to_stderr

__all__ = ["CLIError", "cli", "main", "recommend", "serve"]

_SERVE_HINT = (
    "`expert-recommend serve` (same options: --project-path, --env, "
    "--adapter-version, -v) keeps the model loaded and answers these calls."
)


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


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Loading errors as one line on stderr, exit code 1 (no traceback)."""
    from expert_kedro.recommender.adapters import AdapterMismatchError  # noqa: PLC0415

    try:
        yield
    except AdapterMismatchError as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None


def _answered_by_server(  # noqa: PLR0913 - the request's fields
    agenda: list[str],
    project_path: Path,
    *,
    env: str | None,
    adapter_version: str | None,
    options: dict[str, Any],
    verbose: bool,
) -> bool:
    """Print the answer of the project's server, if one answers (see module doc)."""
    from expert_kedro.console.cli_output import echo_rendered  # noqa: PLC0415
    from expert_kedro.console.server_client import ask_server  # noqa: PLC0415

    route_logs_to_stderr(verbose, libraries=False)
    request = {
        "op": "recommend",
        "agenda": agenda,
        "adapter_version": adapter_version,
        **options,
    }
    answer = ask_server(project_path, env, request)
    if answer is None:
        return False
    if answer["status"] == "error":
        raise CLIError(answer["message"])
    echo_rendered(answer["stdout"], answer["notes"])
    return True


# The options `recommend` and `serve` share: a call finds the server of its project
# and environment by them.
_ENV_OPTION = click.option(
    "--env", default=None, help="Kedro configuration environment."
)
_PROJECT_PATH_OPTION = click.option(
    "--project-path",
    type=click.Path(file_okay=False),
    default=".",
    help="Kedro project folder.",
)


@click.command(
    name="recommend",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_SERVE_HINT,
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
@_ENV_OPTION
@_PROJECT_PATH_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON records on stdout.")
@click.option(
    "--no-server", is_flag=True, help="Rank in this process even if a server runs."
)
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
    no_server: bool,
    verbose: bool,
) -> None:
    """Recommend roster experts for an agenda (see the module docstring)."""
    agenda = read_questions(questions, file)
    project = Path(project_path).resolve()
    options = {
        "top_k": top_k,
        "mode": mode,
        "generate_text": generate_text,
        "as_json": as_json,
    }
    if not no_server and _answered_by_server(
        agenda,
        project,
        env=env,
        adapter_version=adapter_version,
        options=options,
        verbose=verbose,
    ):
        return
    from expert_kedro.console.cli_output import (  # noqa: PLC0415
        echo_recommendations,
    )
    from expert_kedro.console.project_recommender import (  # noqa: PLC0415
        recommend_for_agenda,
    )

    route_logs_to_stderr(verbose)
    # Anything a library prints while loading goes to stderr, not the result.
    with _one_line_errors(), contextlib.redirect_stdout(sys.stderr):
        recommendations, metrics = recommend_for_agenda(
            agenda,
            project_path=project,
            env=env,
            adapter_version=adapter_version,
            overrides=_overrides(top_k, mode, generate_text, verbose),
            verbose=verbose,
        )
    echo_recommendations(recommendations, metrics, as_json=as_json)


@click.command(name="serve", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--adapter-version",
    default=None,
    help="Serve this lora_adapter version (default: the latest, reloaded when a "
    "newer one is saved).",
)
@_ENV_OPTION
@_PROJECT_PATH_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Also show library logs.")
def serve(
    adapter_version: str | None, env: str | None, project_path: str, verbose: bool
) -> None:
    """Keep the recommender loaded; answer `expert-recommend` calls (Ctrl-C stops).

    Runs in the foreground; its log goes to stderr. See
    ``console/recommend_server.py``.
    """
    from expert_kedro.console.project_recommender import bootstrap  # noqa: PLC0415
    from expert_kedro.console.recommend_server import (  # noqa: PLC0415
        serve as run_server,
    )

    project = Path(project_path).resolve()
    with _one_line_errors(), contextlib.redirect_stdout(sys.stderr):
        bootstrap(project, verbose)
        logging.getLogger("expert_kedro.console").setLevel(logging.INFO)
        run_server(project, env, adapter_version)


@click.group(name="expert_kedro")
def cli() -> None:
    """Project commands, added to ``kedro`` (``kedro recommend -q ...``)."""


# Kedro imports ``<package>.cli`` and adds its ``cli`` group to the ``kedro`` command.
cli.add_command(recommend)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point of ``expert-recommend`` and ``... serve``."""
    args = list(argv if argv is not None else sys.argv[1:])
    if args[:1] == ["serve"]:
        serve.main(args=args[1:], prog_name="expert-recommend serve")
    else:
        recommend.main(args=args, prog_name="expert-recommend")
