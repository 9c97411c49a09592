"""No validation or test project reaches what the model is trained on or retrieves with.

One real Kedro run of the data pipelines on the shipped export (``data_processing``,
``retrieval``, ``augmentation``, ``rerank_pairs``, then model_training up to its
tokenization nodes) is shared by every check. Artifacts are traced back to the
projects they came from by their own content (``provenance``), not by the ids the
code carries along:

* ``training_examples`` and ``rerank_train_pairs``: the agenda of every prompt;
* ``tokenized_train``: the token ids, decoded back to text;
* ``retrieval_index``: its recorded projects and agenda digests, and its BM25
  vocabulary (no word that only held-out projects use);
* the past questions shown under a candidate, in the training prompts and in the
  prompts of the ranker that evaluation and inference build.

The last tests give the retrieval and evaluation pipelines a held-out split that
overlaps the index: both must refuse to run (``check_no_leakage`` in their nodes).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import bm25s
import pandas as pd
import pytest

from expert_kedro.modeling.base_model import load_tokenizer
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import IndexLeakageError
from tests.conftest import copy_project
from tests.integration.provenance import (
    SPLITS,
    SplitProvenance,
    past_questions,
    question_key,
)
from tests.llm_fixtures import _session
from tests.planted_tokens import files_holding_tokens, planted_tokens

DATA_PIPELINES = ["data_processing", "retrieval", "augmentation", "rerank_pairs"]
TOKENIZE_NODES = ["tokenize_train_node", "tokenize_validation_node"]
# Older than any run's version: saved beside the real ones, loaded only when named.
TAMPERED_VERSION = "2000-01-01T00.00.00.000Z"
_USER_TURN = re.compile(r"<\|im_start\|>user\n(.*?)(?:<\|im_end\|>|\Z)", re.DOTALL)


def _link_tree(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination, copy_function=os.link)


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory: pytest.TempPathFactory, smollm2_base: Path) -> Path:
    """A project copy after the data pipelines and the tokenization nodes.

    The base model prepared once per test process is linked in as
    ``base_model_cache``, so ``prepare_base_model_node`` reuses it (same source).
    """
    project = copy_project(tmp_path_factory.mktemp("leakage") / "project")
    _link_tree(smollm2_base, project / "data" / "06_models" / "base_model")
    with planted_tokens(project) as messages:
        with _session(project) as session:
            session.run(pipeline_names=DATA_PIPELINES)
        with _session(project) as session:
            session.run(pipeline_names=["model_training"], to_nodes=TOKENIZE_NODES)
    (project / "run_log.txt").write_text("\n".join(messages), encoding="utf-8")
    return project


def test_no_token_in_any_output_or_log_message(shipped_run: Path):
    """The run had ``HF_TOKEN`` and a credentials file set: neither token is in a
    file it wrote or in a log message (``run_log.txt`` holds them)."""
    data = shipped_run / "data"
    base = data / "06_models" / "base_model"  # linked in before the run, not written
    assert files_holding_tokens(data, skip=(data / "01_raw", base)) == []
    assert files_holding_tokens(shipped_run / "run_log.txt") == []
    assert "Leakage check passed" in (shipped_run / "run_log.txt").read_text()


@pytest.fixture(scope="module")
def catalog(shipped_run: Path):
    with _session(shipped_run) as session:
        yield session.load_context().catalog


@pytest.fixture(scope="module")
def splits(catalog) -> SplitProvenance:
    return SplitProvenance({s: catalog.load(f"{s}_pairs") for s in SPLITS})


@pytest.mark.parametrize("dataset", ["training_examples", "rerank_train_pairs"])
def test_training_tables_hold_train_projects_only(catalog, splits, dataset):
    table = catalog.load(dataset)
    assert set(map(str, table["project_id"])) <= splits.ids["train"]
    assert splits.assert_train_agendas(table["input"], dataset) == len(table) > 0


def test_tokenized_train_decodes_to_train_examples(catalog, splits):
    tokenized = catalog.load("tokenized_train")
    tokenizer = load_tokenizer(catalog.load("base_model"))
    inputs = set(catalog.load("training_examples")["input"])
    turns = []
    for ids, cut in zip(tokenized["input_ids"], tokenized["truncated"], strict=True):
        match = _USER_TURN.search(tokenizer.decode(ids, skip_special_tokens=False))
        assert match, "a tokenized example without a user turn"
        turns.append(match.group(1))
        assert cut or match.group(1) in inputs, match.group(1)[:300]
    assert splits.assert_train_agendas(turns, "tokenized_train") == len(turns) > 0


def _words(texts: list[str], stopwords: str | None) -> set[str]:
    tokenizer = bm25s.tokenization.Tokenizer(stopwords=stopwords)
    tokenizer.tokenize(texts, update_vocab=True, show_progress=False)
    return set(tokenizer.get_vocab_dict())


def test_retrieval_index_holds_train_projects_only(catalog, splits):
    index = catalog.load("retrieval_index")
    assert index.indexed_project_ids == frozenset(splits.ids["train"])
    assert not splits.heldout_digests & index.indexed_agenda_digests()
    # Words that only held-out projects use (titles, agendas, answers) never
    # reach BM25.
    matches = catalog.load("clean_matches")
    texts = [
        " ".join(
            [row.project_title, *row.agenda, *(r["answer"] for r in row.responses)]
        )
        for row in matches.itertuples(index=False)
    ]
    heldout = matches["project_id"].astype(str).isin(splits.heldout_ids).tolist()
    roster = catalog.load("expert_roster").astype(str)
    stopwords = index.bm25.stopwords
    train_side = [t for t, h in zip(texts, heldout, strict=True) if not h]
    train_words = _words(
        train_side + [" ".join(r) for r in roster.to_numpy()], stopwords
    )
    heldout_only = _words(
        [t for t, h in zip(texts, heldout, strict=True) if h], stopwords
    )
    heldout_only -= train_words
    assert heldout_only, "the check needs words that only held-out projects use"
    assert not heldout_only & set(index.bm25.index.vocab_dict)


def test_past_questions_in_training_prompts_are_train_questions(catalog, splits):
    shown = 0
    for dataset, own in (
        ("rerank_train_pairs", True),
        ("rerank_validation_pairs", False),
    ):
        table = catalog.load(dataset)
        for pid, eid, prompt in table[["project_id", "expert_id", "input"]].itertuples(
            index=False
        ):
            shown += splits.assert_past_questions(
                eid, prompt, str(pid) if own else None
            )
    assert shown > 0


def test_past_questions_in_ranking_prompts_are_train_questions(catalog, splits):
    """The ranker of evaluation_llm and inference (``build_ranker`` over the saved
    index and ``train_pairs``), on every held-out agenda with its own experts as
    candidates: the experts whose history would hold that very project if it
    leaked."""
    settings = RecommenderSettings.from_params(catalog.load("params:recommender"))
    ranker = build_ranker(
        settings,
        None,
        Roster(catalog.load("expert_roster")),
        retriever=catalog.load("retrieval_index"),
        train_pairs=catalog.load("train_pairs"),
    )
    shown = 0
    for split in ("validation", "test"):
        projects = catalog.load(f"{split}_projects")
        for agenda, experts in projects[["agenda", "acceptable_expert_ids"]].itertuples(
            index=False
        ):
            for expert_id in map(str, experts):
                prompt = ranker.candidate_input(list(agenda), expert_id)
                shown += splits.assert_past_questions(expert_id, prompt)
                # The agenda's own questions are never shown back as past ones.
                own = {question_key(q) for q in agenda}
                assert not own & {question_key(q) for q in past_questions(prompt)}
    assert shown > 0


def _tampered(catalog, project: Path, name: str, splits: SplitProvenance) -> None:
    """Save ``name`` (a held-out projects table) with one train project added, as
    an old version that only an explicit ``load_versions`` reads."""
    table = catalog.load(name)
    train = catalog.load("train_pairs").iloc[0]
    assert str(train["project_id"]) in splits.ids["train"]
    leaked = table.iloc[[0]].assign(
        project_id=[train["project_id"]],
        agenda=[train["agenda"]],
        acceptable_expert_ids=[[train["expert_id"]]],
    )
    tampered = pd.concat([table, leaked], ignore_index=True)
    folder = project / "data" / "03_primary" / f"{name}.parquet" / TAMPERED_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    tampered.to_parquet(folder / f"{name}.parquet")


def test_retrieval_refuses_a_held_out_project_in_its_index(
    shipped_run, catalog, splits
):
    _tampered(catalog, shipped_run, "test_projects", splits)
    with (
        _session(shipped_run) as session,
        pytest.raises(IndexLeakageError, match="test"),
    ):
        session.run(
            pipeline_names=["retrieval"],
            node_names=["build_retrieval_documents_node"],
            load_versions={"test_projects": TAMPERED_VERSION},
        )


def test_evaluation_refuses_an_index_holding_a_held_out_project(
    shipped_run, catalog, splits
):
    _tampered(catalog, shipped_run, "validation_projects", splits)
    with (
        _session(shipped_run) as session,
        pytest.raises(IndexLeakageError, match="validation"),
    ):
        session.run(
            pipeline_names=["evaluation"],
            to_nodes=["check_retrieval_index_node"],
            load_versions={"validation_projects": TAMPERED_VERSION},
        )
