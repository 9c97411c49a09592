"""Progress bars while agendas are scored: on a terminal only, and switchable."""

from __future__ import annotations

import io
import sys

import pytest

from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.scoring.progress import agenda_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drawn(monkeypatch, stream: io.StringIO, **kwargs) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    with agenda_progress(4, "llm_rerank", **kwargs) as bar:
        for _ in range(4):
            bar.update()
    return stream.getvalue()


def test_bar_is_drawn_on_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    text = _drawn(monkeypatch, _Terminal())
    assert "llm_rerank: scoring agendas" in text
    assert "0/4" in text


def test_no_bar_when_not_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert _drawn(monkeypatch, io.StringIO()) == ""


@pytest.mark.parametrize("env", [None, "1"])
def test_no_bar_when_switched_off(monkeypatch, env) -> None:
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
        assert _drawn(monkeypatch, _Terminal(), enabled=False) == ""
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
        assert _drawn(monkeypatch, _Terminal()) == ""


def test_progress_bar_setting_is_boolean() -> None:
    assert RecommenderSettings().progress_bar is True
    with pytest.raises(ValueError, match="progress_bar"):
        RecommenderSettings.from_params({"progress_bar": "sometimes"})
