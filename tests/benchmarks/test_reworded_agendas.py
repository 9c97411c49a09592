"""benchmarks/reworded_agendas.py: the rewording keeps each agenda's regions and
uses only unseen places; the lifts are read from hand-made rankings."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from expert_kedro.training_data.regions import agenda_regions, place_mentions
from tests.benchmarks.modules import benchmark_module

CITIES = {"APAC": ["Osaka", "Chennai"], "Europe": ["Lyon"], "North America": ["Dallas"]}


@pytest.fixture(scope="module")
def reworded():
    return benchmark_module("reworded_agendas")


def test_a_place_becomes_an_unseen_city_of_its_region(reworded):
    question = "Which local players in Japan matter most in the lithium market?"
    text = reworded.reword_question(question, CITIES, random.Random(0))
    assert "Japan" not in text
    assert text.startswith(reworded.PREFACES)
    assert " which local players " in text  # the opener lowered after its preface
    assert agenda_regions([text]) == ("APAC",)
    named = [text[m.start : m.end] for m in place_mentions(text)]
    assert len(named) == 1 and named[0] in CITIES["APAC"]
    assert " in Japan" not in text and any(
        f"{word}{named[0]}" in text for word in reworded.NEW_LOCATIVES
    )


def test_two_places_keep_their_two_regions_and_plain_text_stays(reworded):
    question = "What are the differences between the EU and Texas?"
    text = reworded.reword_question(question, CITIES, random.Random(1))
    assert agenda_regions([text]) == ("North America", "Europe")
    assert "between Lyon and Dallas?" in text  # no locative before either place
    plain = "Tell us about the bull case."
    assert reworded.reword_question(plain, CITIES, random.Random(1)) == plain


def test_a_region_without_unseen_cities_keeps_its_place(reworded):
    text = reworded.reword_question("Growth in Brazil?", CITIES, random.Random(0))
    assert text == "Growth in Brazil?"


def test_unseen_cities_leave_out_named_places_and_keep_their_region(reworded):
    cities = reworded.unseen_cities(["Suppliers near Osaka", "based in Tokyo, Japan"])
    assert "Osaka" not in cities["APAC"] and "Tokyo" not in cities["APAC"]
    assert "Mumbai" in cities["APAC"]
    for region, names in cities.items():
        for name in names[:5]:
            assert agenda_regions([f"Suppliers around {name}?"]) == (region,)


def test_reworded_projects_are_seeded_and_renamed(reworded):
    projects = pd.DataFrame(
        {
            "project_id": ["7", "8"],
            "agenda": [["How is demand in Japan?"], ["Any view on the UK?"]],
        }
    )
    first = reworded.reword_projects(projects, CITIES, seed=3)
    assert first.equals(reworded.reword_projects(projects, CITIES, seed=3))
    assert first["project_id"].tolist() == ["7~reworded", "8~reworded"]
    assert projects["agenda"].iloc[0] == ["How is demand in Japan?"]  # not mutated


def rankings_rows(project: str, fused: list[str], retrieval: list[float]):
    """One project's test rows: fused order = list order; candidates scored."""
    return [
        {
            "system": "llm_rerank",
            "split": "test",
            "variant": "full",
            "project_id": project,
            "rank": rank,
            "expert_id": expert,
            "retrieval_score": score,
            "llm_score": 0.0,
        }
        for rank, (expert, score) in enumerate(zip(fused, retrieval), start=1)
    ]


def test_lifts_are_the_fused_minus_the_stage_on_each_set(reworded):
    # Stage order: a, b. Original: the LLM puts the right expert "b" first on both
    # projects (lift +1 hit@1); reworded: only on project 1 (lift +0.5).
    rows = [
        *rankings_rows("1", ["b", "a"], [0.0, 1.0]),
        *rankings_rows("2", ["b", "a"], [0.0, 1.0]),
        *rankings_rows("1~reworded", ["b", "a"], [0.0, 1.0]),
        *rankings_rows("2~reworded", ["a", "b"], [1.0, 0.0]),
    ]
    table = reworded.per_project(pd.DataFrame(rows), {"1": ["b"], "2": ["b"]})
    summary = reworded.lift_summary(table, {"1"}, seed=0)
    hit = summary["all|hit@1"]
    assert (hit["stage_original"], hit["fused_original"]) == (0.0, 1.0)
    assert (hit["lift_original"], hit["lift_reworded"], hit["ratio"]) == (1, 0.5, 0.5)
    assert np.isclose(hit["margin"], 0.5 - 2 / 3)
    assert summary["names a place|hit@1"]["projects"] == 1
    assert summary["names a place|mrr"]["lift_reworded"] == 0.5
