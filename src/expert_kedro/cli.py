"""``expert-recommend``: rank roster experts for one agenda from the command line.

Examples::

    expert-recommend -q "How are EU hospitals tendering infusion pumps?" \\
                     -q "Which suppliers gained share in Germany?"
    expert-recommend --file agenda.json            # JSON list of questions
    expert-recommend --file agenda.txt --top-k 3   # one question per line
    expert-recommend -q "..." --adapter-version 2026-11-25T18.02.11.123Z

The CLI bootstraps the Kedro project (``--project-path``, default: the current
folder), reads the catalog and parameters of ``--env`` and loads the recommender as
the inference pipeline does (``recommender.loader.load_recommender``): the saved
``retrieval_index`` proposes the candidates (nothing is fit) and the fusion weight is
the one ``evaluation_llm`` tuned for the adapter (``rerank_tuning``) unless the
parameters set one (``-v`` logs which). It uses the latest ``lora_adapter`` version
unless ``--adapter-version`` names one.

An agenda whose prompt is longer than ``recommender.max_prompt_tokens`` is
shortened by the length policy of training (long questions cut to their opening,
later questions left out) and ranked; one line on stderr says so.

Errors are one line on stderr with exit code 1, never a traceback: an empty agenda,
a JSON file that is not a list, a missing adapter (train one with
``kedro run --pipeline=training``) and an adapter trained on another base model
than the configured ``base_model``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from expert_kedro.recommender.adapters import TRAIN_COMMAND

_DISPLAY_COLUMNS = ("rank", "expert_id", "expert_name", "score", "expert_headline")


class CLIError(click.ClickException):
    """A user error: printed as one line, exit code 1."""

    def format_message(self) -> str:  # noqa: D102 - click hook
        return " ".join(str(self.message).split())


def read_questions(questions: tuple[str, ...], file: str | None) -> list[str]:
    """The agenda from ``-q`` options and/or a file.

    A file holding a JSON value must be a JSON list of question strings; any other
    file is read as one question per non-empty line.

    Raises:
        CLIError: For an unreadable file, non-list JSON or an empty agenda.
    """
    agenda = [q for q in questions]
    if file is not None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CLIError(
                f"Cannot read agenda file '{file}': {exc.strerror}."
            ) from None
        stripped = text.strip()
        if stripped.startswith(("[", "{", '"')):
            try:
                value = json.loads(stripped, strict=False)
            except json.JSONDecodeError as exc:
                raise CLIError(
                    f"Agenda file '{file}' is not valid JSON ({exc.msg}, line "
                    f"{exc.lineno}); give a JSON list of question strings or one "
                    "question per line."
                ) from None
            if not isinstance(value, list):
                raise CLIError(
                    f"Agenda file '{file}' holds a JSON {type(value).__name__}, not a "
                    'list; expected e.g. ["First question?", "Second question?"].'
                )
            agenda.extend(value)
        else:
            agenda.extend(line for line in text.splitlines() if line.strip())
    if not agenda or not any(isinstance(q, str) and q.strip() for q in agenda):
        raise CLIError(
            'The agenda is empty: pass questions with -q "..." (repeatable) or '
            "--file (JSON list or one question per line)."
        )
    return agenda


def _quiet_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    for name in ("", "kedro", "expert_kedro", "transformers", "py.warnings"):
        logging.getLogger(name).setLevel(level)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def _load_adapter(context: Any, version: str | None) -> Any:
    """Handle of the latest (or the given) ``lora_adapter`` version."""
    from kedro.io import AbstractDataset  # noqa: PLC0415

    config = context.config_loader["catalog"].get("lora_adapter")
    if config is None:
        raise CLIError(
            "The catalog has no 'lora_adapter' entry; configure it in "
            "conf/base/catalog_model_training.yml."
        )
    config = dict(config)
    filepath = str(config.get("filepath", ""))
    if filepath and "://" not in filepath and not Path(filepath).is_absolute():
        # The catalog resolves relative paths against the project, not the cwd.
        config["filepath"] = str(Path(context.project_path) / filepath)
    dataset = AbstractDataset.from_config("lora_adapter", config, load_version=version)
    which = f"version {version}" if version else "any version"
    if not dataset.exists():
        raise CLIError(
            f"No trained LoRA adapter found at '{config.get('filepath')}' ({which}). "
            f"Train one with `{TRAIN_COMMAND}`."
        )
    return dataset.load()


def _load(catalog: Any, name: str) -> Any:
    from kedro.io import DatasetError  # noqa: PLC0415

    try:
        return catalog.load(name)
    except DatasetError as exc:
        first = str(exc).splitlines()[0]
        raise CLIError(
            f"Cannot load '{name}' ({first}). Build it with `{TRAIN_COMMAND}`."
        ) from None


def recommend_for_agenda(
    agenda: list[str],
    *,
    project_path: Path,
    env: str | None,
    adapter_version: str | None,
    overrides: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank experts for one agenda as the inference pipeline does.

    The catalog's datasets (adapter, base model, roster, training pairs, the saved
    ``retrieval_index`` and ``rerank_tuning``) go to
    ``recommender.loader.load_recommender``, the function behind the pipeline's
    ``load_recommender_node``: nothing is fit.

    Returns:
        The ``recommendations`` rows and the ``inference_metrics``.
    """
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    from expert_kedro.recommender.loader import load_recommender  # noqa: PLC0415
    from expert_kedro.recommender.service import parse_agenda_table  # noqa: PLC0415
    from expert_kedro.recommender.settings import (  # noqa: PLC0415
        RecommenderSettings,
    )
    from expert_kedro.training_data.settings import (  # noqa: PLC0415
        PairsSettings,
    )

    bootstrap_project(project_path)
    with KedroSession.create(project_path=project_path, env=env) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        settings = RecommenderSettings.from_params(
            {**(params.get("recommender") or {}), **overrides}
        )
        pairs = PairsSettings.from_params(params.get("pairs") or {})
        agendas = parse_agenda_table(
            pd.DataFrame({"case_id": ["cli"], "agenda": [json.dumps(agenda)]}), "agenda"
        )
        rerank = settings.mode == "rerank"
        recommender = load_recommender(
            _load(catalog, "base_model"),
            _load_adapter(context, adapter_version),
            settings,
            expert_roster=_load(catalog, "expert_roster"),
            train_pairs=_load(catalog, "train_pairs"),
            retrieval_index=_load(catalog, "retrieval_index") if rerank else None,
            rerank_tuning=_load(catalog, "rerank_tuning") if rerank else None,
            generative_system=pairs.system_prompt,
            output_format=pairs.output_format,
        )
        return recommender.recommend(agendas)


def format_table(recommendations: pd.DataFrame) -> str:
    """Readable table of the ranked experts (and the generated text, if any)."""
    shown = recommendations[list(_DISPLAY_COLUMNS)].copy()
    shown["score"] = shown["score"].map(lambda s: f"{s:.3f}")
    shown["expert_headline"] = shown["expert_headline"].str.slice(0, 70)
    text = shown.to_string(index=False)
    if "generated_text" in recommendations and recommendations["generated_text"].any():
        text += "\n\n" + str(recommendations["generated_text"].iloc[0])
    return text


@click.command(
    name="recommend", context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-q", "--question", "questions", multiple=True, help="Agenda question (repeatable)."
)
@click.option(
    "-f",
    "--file",
    "file",
    type=str,
    default=None,
    help="Agenda file: JSON list or one question per line.",
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
    "--adapter-version", default=None, help="lora_adapter version (default: latest)."
)
@click.option(
    "--generate-text",
    is_flag=True,
    default=False,
    help="Also print the model's text for the top expert.",
)
@click.option("--env", default=None, help="Kedro configuration environment.")
@click.option(
    "--project-path",
    type=click.Path(file_okay=False),
    default=".",
    help="Kedro project folder.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    default=False,
    help="Print JSON records instead of a table.",
)
@click.option(
    "-v", "--verbose", is_flag=True, default=False, help="Show pipeline logs."
)
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
    from expert_kedro.recommender.adapters import AdapterMismatchError  # noqa: PLC0415

    agenda = read_questions(questions, file)
    _quiet_logging(verbose)
    overrides: dict[str, Any] = {}
    if top_k is not None:
        overrides["top_k"] = top_k
    if mode is not None:
        overrides["mode"] = mode
    if generate_text:
        overrides["generate_text"] = True
    try:
        recommendations, metrics = recommend_for_agenda(
            agenda,
            project_path=Path(project_path).resolve(),
            env=env,
            adapter_version=adapter_version,
            overrides=overrides,
        )
    except AdapterMismatchError as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    _note_shortened(metrics.get("prompt_fitting") or {})
    if as_json:
        click.echo(recommendations.to_json(orient="records", force_ascii=False))
    else:
        click.echo(format_table(recommendations))


def _note_shortened(fitting: dict[str, Any]) -> None:
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
