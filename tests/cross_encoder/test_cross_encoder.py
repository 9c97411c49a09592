"""The cross-encoder peer on the toy roster: real MiniLM weights, CPU, a few steps.

One module fixture trains it once (a few optimiser steps on the toy roster's rerank
pairs, built by the LLM's own ``build_rerank_examples``); the tests read that model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expert_kedro.cross_encoder import (
    CrossEncoderScorer,
    CrossEncoderSettings,
    split_rerank_input,
    train_cross_encoder,
    training_table,
)
from expert_kedro.datasets import CrossEncoderDataset
from expert_kedro.evaluation.rankings import RANKING_COLUMNS, validate_rankings
from expert_kedro.pipelines.evaluation_llm.nodes import rank_cross_encoder_projects
from expert_kedro.recommender.grounding import roster_lookup
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.rerank_pairs import (
    build_rerank_examples,
    format_rerank_input,
)
from tests.retrieval.toy_roster import (
    QUERIES,
    make_toy_index,
    make_toy_roster,
    make_toy_train_pairs,
)

TOY_SETTINGS = {
    "epochs": 4,
    "batch_size": 8,
    "learning_rate": 1e-4,
    "warmup_ratio": 0.0,
    "max_length": 128,
    "logging_steps": 1,
    "seed": 3,
}


def _toy_rerank_pairs() -> pd.DataFrame:
    """Every toy training agenda with its expert (yes) and the three others (no)."""
    roster = make_toy_roster()
    ids = [int(e) for e in roster["expert_id"]]
    examples, _ = build_rerank_examples(
        make_toy_train_pairs().assign(source="original"),
        roster_lookup(roster),
        {},
        lambda agendas, _ids: [ids for _ in agendas],
        system=RecommenderSettings().rerank_system_prompt,
        n_hard=3,
        n_random=0,
        seed=0,
    )
    return examples


@pytest.fixture(scope="module")
def trained():
    return train_cross_encoder(
        _toy_rerank_pairs(), CrossEncoderSettings.from_params(TOY_SETTINGS)
    )


def _logits(trained, query: list[str]) -> dict[int, float]:
    roster = make_toy_roster()
    profiles = roster_lookup(roster)
    users = [format_rerank_input(query, profiles[e]) for e in profiles]
    scores = CrossEncoderScorer(trained).yes_no_scores_grouped("", [users], ["q"])[0]
    return dict(zip(profiles, scores, strict=True))


def test_training_pairs_are_the_llm_user_turn_cut_in_two():
    pairs = _toy_rerank_pairs()
    table = training_table(pairs, None, 0)
    assert len(table) == len(pairs) == 28
    assert table["label"].sum() == 7  # one expert per toy agenda
    agenda, candidate = split_rerank_input(pairs["input"].iloc[0])
    assert agenda.startswith("Agenda:\n1. ")
    assert candidate.startswith("Expert: ")
    assert table.loc[0, "query"] == agenda
    sample = training_table(pairs, 5, 0)
    assert len(sample) == 5 and sample.equals(training_table(pairs, 5, 0))
    with pytest.raises(ValueError, match="Candidate expert"):
        split_rerank_input("Agenda:\n1. no candidate here")


def test_training_lowers_the_loss_and_separates_yes_from_no(trained):
    losses = [row["loss"] for row in trained.record["loss_history"]]
    assert trained.record["steps"] == len(losses) == 16  # 4 epochs x 4 batches
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert trained.record["train_pairs"] == 28
    assert trained.record["settings"]["seed"] == TOY_SETTINGS["seed"]
    # Each toy agenda: its own expert scores above the three others.
    pairs = _toy_rerank_pairs()
    scores = CrossEncoderScorer(trained).yes_no_scores_grouped(
        "", [pairs["input"].tolist()], ["toy"]
    )[0]
    frame = pairs.assign(score=scores)
    margins = frame.groupby("project_id").apply(
        lambda g: (
            g.loc[g["output"] == "yes", "score"].min()
            - g.loc[g["output"] == "no", "score"].max()
        ),
        include_groups=False,
    )
    assert (margins > 0).mean() >= 0.5, margins.to_dict()
    assert (
        frame.groupby("output")["score"].mean()["yes"]
        > frame.groupby("output")["score"].mean()["no"] + 0.05
    )


def test_saved_model_scores_the_same_after_loading(trained, tmp_path):
    dataset = CrossEncoderDataset(filepath=str(tmp_path / "cross_encoder"))
    dataset.save(trained)
    loaded = dataset.load()
    assert loaded.record["steps"] == trained.record["steps"]
    query = QUERIES[202]
    before, after = _logits(trained, query), _logits(loaded, query)
    assert np.allclose(list(before.values()), list(after.values()), atol=1e-5)
    assert "loss_history" not in dataset.preview()


def test_node_ranks_projects_as_the_llm_systems_do(trained):
    """System ``cross_encoder``: whole roster per project, weight tuned on
    validation over the grid, truncated pairs counted."""
    projects = pd.DataFrame(
        {
            "project_id": [1, 2, 3, 4],
            "agenda": list(QUERIES.values()),
            "acceptable_expert_ids": [[e] for e in QUERIES],
        }
    )
    recommender = {"candidates": 3, "weight_grid": [0.0, 1.0], "history_questions": 1}
    rankings, report = rank_cross_encoder_projects(
        make_toy_index(),
        projects.head(2),
        projects,
        projects.tail(2),
        make_toy_roster(),
        make_toy_train_pairs(),
        trained,
        recommender,
        {"max_length": 64},
    )
    signals = ("retrieval_score", "llm_score")
    assert tuple(rankings.columns) == (*RANKING_COLUMNS, *signals)
    validate_rankings(rankings, make_toy_roster()["expert_id"])
    assert set(rankings["system"]) == {"cross_encoder"}
    # The 3 candidates of each project carry both signals, the 4th expert none.
    assert (rankings.dropna(subset=list(signals))["rank"] <= 3).all()
    assert rankings[list(signals)].notna().all(axis=1).sum() == 3 * (2 + 4 + 2)
    per_project = rankings.groupby(["split", "variant", "project_id"]).size()
    assert len(per_project) == 2 + 4 + 2 and (per_project == 4).all()
    assert report["tuned_retrieval_weight"] in {0.0, 1.0}
    assert report["training"]["train_pairs"] == 28
    fitting = report["prompt_fitting"]["test/full"]
    assert fitting["prompts"] == 4 * 3 and fitting["fallback_cases"] == 0
    assert fitting["max_prompt_tokens"] == TOY_SETTINGS["max_length"]
