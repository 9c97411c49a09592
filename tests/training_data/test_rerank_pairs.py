"""Rerank examples: positives, hard negatives from the retriever, determinism."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.training_data.rerank_pairs import (
    HISTORY_HEADER,
    PAIR_COLUMNS,
    ExpertHistory,
    build_rerank_examples,
    format_rerank_input,
)


def _profile(expert_id: str) -> dict:
    return {
        "expert_id": expert_id,
        "expert_name": f"Expert {expert_id}",
        "expert_headline": f"Headline {expert_id}",
        "expert_location": "Berlin, Germany",
        "expert_industry": "Healthcare",
        "expert_skills": ["Sourcing"],
        "expert_bio": "Bio.",
        "expert_work_summary": "Work.",
    }


ROSTER = {str(e): _profile(str(e)) for e in range(100, 120)}
# Project -> acceptable experts (ids are text, as in the pipeline's tables).
ACCEPTABLE = {"1": {"100", "101"}, "2": {"105"}}


@pytest.fixture
def pairs() -> pd.DataFrame:
    rows = [
        (1, 100, ["Q1 pumps?", "Q2 Germany?"], "original"),
        (1, 101, ["Q1 pumps?", "Q2 Germany?"], "original"),  # two-expert project
        (1, 100, ["Q1 pumps?"], "partial"),
        (2, 105, ["Q3 lithium?", "Q4 LATAM?"], "original"),
    ]
    return pd.DataFrame(
        [
            {
                "project_id": str(p),
                "expert_id": str(e),
                "agenda": a,
                "system": "gen",
                "input": "x",
                "output": "y",
                "source": s,
            }
            for p, e, a, s in rows
        ]
    )


def _rank(agendas, project_ids=()):
    # A retriever that ranks the acceptable experts first, like one fit on train.
    return [["100", "101", "105", "102", "103", "104", "106", "107"] for _ in agendas]


def _build(pairs, seed=3, n_random=1):
    return build_rerank_examples(
        pairs,
        ROSTER,
        ACCEPTABLE,
        _rank,
        system="rerank?",
        n_hard=3,
        n_random=n_random,
        seed=seed,
    )


def test_columns_and_labels(pairs):
    examples, stats = _build(pairs)
    assert tuple(examples.columns) == PAIR_COLUMNS
    assert set(examples["output"]) == {"yes", "no"}
    assert stats == {"queries": 3, "positives": 4, "hard": 9, "random": 3}
    assert set(examples["project_id"]) == {"1", "2"}  # only the input's projects
    assert set(examples["source"]) == {"original", "partial"}


def test_negatives_are_roster_experts_never_acceptable(pairs):
    examples, _ = _build(pairs)
    negatives = examples[examples["output"] == "no"]
    assert negatives["expert_id"].isin(list(ROSTER)).all()
    for pid, eid in negatives[["project_id", "expert_id"]].itertuples(index=False):
        assert eid not in ACCEPTABLE[pid]
    # Hard negatives are the retriever's best non-acceptable experts.
    first = negatives[negatives["project_id"] == "1"]["expert_id"].tolist()[:3]
    assert first == ["105", "102", "103"]


def test_deterministic_under_seed(pairs):
    a, _ = _build(pairs, seed=3)
    b, _ = _build(pairs, seed=3)
    pd.testing.assert_frame_equal(a, b)
    c, _ = _build(pairs, seed=4)
    assert not a["expert_id"].equals(c["expert_id"])  # random negatives move


def test_input_layout_agenda_first():
    text = format_rerank_input(["Q1?", "Q2?"], _profile("100"), ["Past Q?"])
    assert text.startswith("Agenda:\n1. Q1?\n2. Q2?\n\nCandidate expert:\n")
    assert "Expert: Expert 100 (ID 100)" in text
    assert text.endswith("- Past Q?")


def test_history_excludes_current_project(pairs):
    history = ExpertHistory(pairs)
    assert history.questions("100", ["Q9?"], 5, exclude_project="1") == []
    assert history.questions("105", ["LATAM lithium"], 1) == ["Q3 lithium?"]


def test_region_line_only_when_asked_between_profile_and_history():
    profile = {**_profile("100"), "expert_location": "Jeddah, Saudi Arabia"}
    plain = format_rerank_input(["Q1?"], profile, ["Past Q?"])
    assert "Region:" not in plain
    text = format_rerank_input(["Q1?"], profile, ["Past Q?"], region=True)
    lines = text.splitlines()
    at = lines.index("Region: Middle East")
    assert lines[at - 1] == "Work history: Work."  # last profile line
    assert lines[at + 1] == HISTORY_HEADER
    # Apart from the one line, the layout is unchanged.
    assert text.replace("Region: Middle East\n", "") == plain


def test_region_line_without_history_ends_the_prompt():
    text = format_rerank_input(["Q1?"], _profile("100"), region=True)
    assert text.endswith("Work history: Work.\nRegion: Europe")


def test_unknown_region_omits_the_line():
    profile = {**_profile("100"), "expert_location": "Lagos, Nigeria"}
    assert format_rerank_input(["Q1?"], profile, region=True) == format_rerank_input(
        ["Q1?"], profile
    )


def test_examples_carry_the_region_line_when_asked(pairs):
    history = ExpertHistory(pairs)
    common = {
        "system": "rerank?",
        "n_hard": 3,
        "n_random": 1,
        "seed": 3,
        "history": history,
        "history_questions": 2,
    }
    acceptable = ACCEPTABLE
    plain, _ = build_rerank_examples(pairs, ROSTER, acceptable, _rank, **common)
    with_region, _ = build_rerank_examples(
        pairs, ROSTER, acceptable, _rank, candidate_region=True, **common
    )
    assert not plain["input"].str.contains("Region:").any()
    assert all("Region: Europe" in t.splitlines() for t in with_region["input"])
    # Only the input changes: same examples, labels and order.
    pd.testing.assert_frame_equal(
        with_region.drop(columns="input"), plain.drop(columns="input")
    )


def _lines(agenda, location, mode, region=True):
    profile = {**_profile("100"), "expert_location": location}
    text = format_rerank_input(agenda, profile, region=region, agenda_region=mode)
    return text.splitlines()


def test_agenda_region_line_follows_the_candidates_region():
    lines = _lines(["Buyers in the Nordics?"], "Oslo, Norway", True)
    assert lines[-2:] == ["Region: Europe", "Agenda region: Europe"]
    assert _lines(["Pricing?"], "Oslo, Norway", True)[-1] == (
        "Agenda region: none named"
    )


@pytest.mark.parametrize(
    ("agenda", "location", "line"),
    [
        (
            ["Buyers in the Nordics?", "And in Brazil?"],
            "Oslo, Norway",
            "Agenda region: Europe, Latin America (same as the candidate's)",
        ),
        (
            ["GCC tenders?"],
            "Oslo, Norway",
            "Agenda region: Middle East (not the candidate's)",
        ),
        (
            ["GCC tenders?"],
            "Lagos, Nigeria",
            "Agenda region: Middle East (candidate's region unknown)",
        ),
        (["Pricing?"], "Oslo, Norway", "Agenda region: none named"),
    ],
)
def test_compare_says_whether_the_candidates_region_is_named(agenda, location, line):
    assert _lines(agenda, location, "compare")[-1] == line


def test_compare_without_the_candidate_line_still_compares():
    lines = _lines(["GCC tenders?"], "Oslo, Norway", "compare", region=False)
    assert not any(line.startswith("Region:") for line in lines)
    assert lines[-1] == "Agenda region: Middle East (not the candidate's)"


def test_examples_carry_the_agenda_region_line_when_asked(pairs):
    common = {"system": "rerank?", "n_hard": 3, "n_random": 1, "seed": 3}
    acceptable = ACCEPTABLE
    plain, _ = build_rerank_examples(pairs, ROSTER, acceptable, _rank, **common)
    compared, _ = build_rerank_examples(
        pairs,
        ROSTER,
        acceptable,
        _rank,
        candidate_region=True,
        agenda_region="compare",
        **common,
    )
    assert not plain["input"].str.contains("Agenda region:").any()
    assert all(
        text.splitlines()[-1].startswith("Agenda region: ")
        for text in compared["input"]
    )
    pd.testing.assert_frame_equal(
        compared.drop(columns="input"), plain.drop(columns="input")
    )
