"""The process-wide sentence encoder is one instance whatever the call spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from expert_kedro.retrieval import encoder as encoder_module
from expert_kedro.retrieval import factory, load_sentence_encoder


class _StubEncoder:
    """Counts model loads; embeds nothing (no model files read)."""

    loads = 0

    def __init__(self, model_path=None, *, device="cpu", batch_size=64) -> None:
        type(self).loads += 1
        self.model_path, self.device, self.batch_size = model_path, device, batch_size


@pytest.fixture
def stub_encoder(monkeypatch):
    load_sentence_encoder.cache_clear()
    _StubEncoder.loads = 0
    monkeypatch.setattr(encoder_module, "SentenceEncoder", _StubEncoder)
    yield _StubEncoder
    load_sentence_encoder.cache_clear()


def test_same_settings_spelled_differently_share_one_encoder(stub_encoder):
    shared = load_sentence_encoder()
    assert load_sentence_encoder(None, "cpu", 64) is shared
    assert load_sentence_encoder(model_path=None, device="cpu", batch_size=64) is shared
    assert stub_encoder.loads == 1
    other = load_sentence_encoder(batch_size=8)
    assert other is not shared and other.batch_size == 8
    folder = Path("/models/minilm")
    assert load_sentence_encoder(folder) is load_sentence_encoder(str(folder))
    assert stub_encoder.loads == 3


def test_fit_dense_uses_the_encoder_of_a_default_call(stub_encoder, monkeypatch):
    """``fit_dense`` spells every setting out; a default caller's encoder (and the
    embeddings it ``remember``-ed) must be the one it fits with, not a second model.
    """
    seen = []

    class Capture:
        def __init__(self, encoder, **_: object) -> None:
            seen.append(encoder)

        def fit(self, documents):
            return self

    monkeypatch.setattr(factory, "DenseRetriever", Capture)
    factory.fit_dense(None, {})
    assert seen == [load_sentence_encoder()]
    assert stub_encoder.loads == 1
