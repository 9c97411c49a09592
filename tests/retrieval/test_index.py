"""RetrievalIndex: fitted once, saved, loaded without re-encoding the roster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expert_kedro.retrieval import (
    EncoderMismatchError,
    IndexLeakageError,
    RetrievalIndex,
    RetrievalIndexFormatError,
    RetrievalSettings,
    build_expert_documents,
    check_no_leakage,
    fit_retrieval_index,
    load_index,
    load_sentence_encoder,
    save_index,
    top_k,
    tune_retrieval_index,
)

from .toy_roster import QUERIES, make_toy_index

AGENDAS = list(QUERIES.values())
ANSWERS = list(QUERIES)
SYSTEMS = ["popularity", "bm25", "dense", "hybrid", "hybrid+prior"]


@pytest.mark.parametrize("fusion", ["zscore", "rrf"])
def test_saved_index_scores_like_the_fitted_one(tmp_path: Path, fusion: str):
    fitted = make_toy_index(bm25_weight=0.4, fusion=fusion)
    expected = {name: r.score_all(AGENDAS) for name, r in fitted.retrievers().items()}
    save_index(fitted, tmp_path / "index")

    # A fresh model instance encodes the loaded index's queries, as in a new process.
    load_sentence_encoder.cache_clear()
    loaded = load_index(tmp_path / "index")
    assert not loaded.dense.encoder_loaded
    assert list(loaded.retrievers()) == SYSTEMS
    # Another model instance may round the query encodings differently in the last
    # float32 bit (AVX-512 kernels depend on memory layout): scores agree to 1e-6.
    for name, retriever in loaded.retrievers().items():
        got = retriever.score_all(AGENDAS)
        np.testing.assert_allclose(got, expected[name], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        loaded.score_all(AGENDAS), expected["hybrid"], rtol=1e-6, atol=1e-6
    )
    pd.testing.assert_frame_equal(
        loaded.candidates(AGENDAS, k=3),
        fitted.candidates(AGENDAS, k=3),
        check_exact=False,
        rtol=1e-6,
        atol=1e-6,
    )
    ids, _ = top_k(loaded.score_all(AGENDAS), loaded.expert_ids, 1)
    assert ids[:, 0].tolist() == ANSWERS
    assert loaded.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(loaded.embeddings, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(loaded.embeddings, fitted.embeddings)
    assert loaded.fingerprint == fitted.fingerprint
    assert loaded.bm25_weight == 0.4 and loaded.settings == fitted.settings
    assert loaded.tuning == json.loads(json.dumps(fitted.tuning))
    assert loaded.indexed_project_ids == fitted.indexed_project_ids
    assert loaded.indexed_agenda_digests() == fitted.indexed_agenda_digests()


def test_loading_encodes_queries_only(tmp_path: Path, toy_index):
    save_index(toy_index, tmp_path / "index")
    load_sentence_encoder.cache_clear()
    loaded = load_index(tmp_path / "index")
    loaded.bm25.score_all(AGENDAS)
    loaded.popularity.score_all(AGENDAS)
    assert not loaded.dense.encoder_loaded  # lexical scoring needs no model
    loaded.candidates(AGENDAS, k=2)
    encoder = loaded.dense.encoder
    assert encoder.texts_encoded == len(AGENDAS)  # the queries; no roster text


def test_tuning_on_validation_records_the_grid(toy_roster, toy_train_pairs):
    settings = RetrievalSettings.from_params({"hybrid": {"weight_grid": [0.2, 0.8]}})
    documents = build_expert_documents(toy_roster, toy_train_pairs)
    untuned = fit_retrieval_index(documents, settings)
    assert not untuned.is_tuned
    with pytest.raises(RuntimeError, match="tune_retrieval_index"):
        untuned.candidates(AGENDAS, k=1)
    validation = pd.DataFrame(
        {
            "project_id": [1, 2],
            "agenda": [AGENDAS[0], AGENDAS[1]],
            "acceptable_expert_ids": [[ANSWERS[0]], [ANSWERS[1]]],
        }
    )
    tuned = tune_retrieval_index(untuned, validation)
    assert tuned.tuning["tuned_on"] == "validation"
    assert [row["bm25_weight"] for row in tuned.tuning["grid"]] == [0.2, 0.8]
    assert tuned.bm25_weight in (0.2, 0.8)
    assert tuned.dense is untuned.dense  # tuning shares the fitted parts
    with pytest.raises(ValueError, match="no validation projects"):
        tune_retrieval_index(untuned, None)


def test_untuned_index_is_not_saved(tmp_path: Path, toy_index):
    bare = RetrievalIndex(
        bm25=toy_index.bm25,
        dense=toy_index.dense,
        popularity=toy_index.popularity,
        encoder=toy_index.encoder,
        settings=toy_index.settings,
        fingerprint=toy_index.fingerprint,
    )
    with pytest.raises(RetrievalIndexFormatError, match="without a fusion weight"):
        save_index(bare, tmp_path / "index")
    assert not (tmp_path / "index" / "manifest.json").exists()


def test_another_encoder_is_refused_at_the_first_query(tmp_path: Path, toy_index):
    save_index(toy_index, tmp_path / "index")
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["encoder"]["signature"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    loaded = load_index(tmp_path / "index")  # loading itself reads no model
    assert loaded.bm25.score_all(AGENDAS).shape == (len(AGENDAS), 4)
    with pytest.raises(EncoderMismatchError, match="not the model that embedded"):
        loaded.score_all(AGENDAS)


def test_leakage_check_reads_a_loaded_index(tmp_path: Path, toy_index, toy_train_pairs):
    save_index(toy_index, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    fresh = pd.DataFrame({"project_id": [1], "agenda": [["A brand new question?"]]})
    assert check_no_leakage(loaded, {"test": fresh}) == {"test": 1}
    same_agenda = pd.DataFrame(
        {"project_id": [5], "agenda": [toy_train_pairs["agenda"].iloc[0]]}
    )
    with pytest.raises(IndexLeakageError, match="1 by identical agenda"):
        check_no_leakage(loaded, {"test": same_agenda})
    same_id = fresh.assign(project_id=int(toy_train_pairs["project_id"].iloc[0]))
    with pytest.raises(IndexLeakageError, match="1 by project_id"):
        check_no_leakage(loaded, {"validation": same_id})
