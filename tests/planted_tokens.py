"""Plant fake Hugging Face tokens around a run, then look for them in its outputs.

A run must never write a token into an artifact, a report or its log. The tokens
are placed where the project reads them from (``HF_TOKEN`` and
``conf/local/credentials.yml``); after the run every file under ``data/`` and
every log message is searched for them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ENV_TOKEN = "hf_planted_env_token_for_tests_0123456789"
FILE_TOKEN = "hf_planted_credentials_token_for_tests_9876543210"
TOKENS = (ENV_TOKEN, FILE_TOKEN)


@contextlib.contextmanager
def planted_tokens(project: Path) -> Iterator[list[str]]:
    """Set ``HF_TOKEN`` and a ``huggingface`` credential for the duration; yields
    the messages of every log record created meanwhile.

    Records are collected by the log record factory, which Kedro's logging set-up
    (``dictConfig`` on every ``bootstrap_project``) leaves in place.
    """
    (project / "conf" / "local" / "credentials.yml").write_text(
        yaml.safe_dump({"huggingface": {"token": FILE_TOKEN}}), encoding="utf-8"
    )
    messages: list[str] = []
    make_record = logging.getLogRecordFactory()

    def collecting(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        messages.append(record.getMessage())
        return record

    # The project's INFO messages are the ones searched: an earlier test's logging
    # set-up may have left the package logger at WARNING, where no record is made.
    package = logging.getLogger("expert_kedro")
    level = package.level
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", ENV_TOKEN)
        logging.setLogRecordFactory(collecting)
        package.setLevel(logging.INFO)
        try:
            yield messages
        finally:
            logging.setLogRecordFactory(make_record)
            package.setLevel(level)


def files_holding_tokens(root: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """Files at or under ``root`` (except under ``skip``) holding a planted token."""
    needles = [token.encode() for token in TOKENS]
    files = [root] if root.is_file() else sorted(root.rglob("*"))
    return [
        str(path)
        for path in files
        if path.is_file()
        and not any(path.is_relative_to(folder) for folder in skip)
        and any(needle in path.read_bytes() for needle in needles)
    ]
