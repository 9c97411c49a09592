"""The inference pipeline through a KedroSession, and agenda validation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from expert_kedro.pipelines.inference.nodes import parse_new_agendas
from expert_kedro.recommender.grounding import RECOMMENDATION_COLUMNS
from tests.llm_fixtures import TEST_RECOMMENDER, _session


def test_inference_pipeline_writes_the_public_contract(trained_project):
    project = trained_project.path
    with _session(project) as session:
        session.run(pipeline_names=["inference"])
    out = project / "data" / "07_model_output" / "recommendations.csv"
    versions = sorted(out.iterdir())
    assert len(versions) == 1
    table = pd.read_csv(versions[0] / "recommendations.csv")
    assert tuple(table.columns) == RECOMMENDATION_COLUMNS
    cases = pd.read_csv(project / "data" / "01_raw" / "new_agendas.csv")["case_id"]
    k = TEST_RECOMMENDER["top_k"]
    assert len(table) == k * len(cases)
    roster = pd.read_csv(project / "data" / "01_raw" / "experts.csv")
    names = dict(zip(roster["expert_id"], roster["expert_name"], strict=True))
    for case_id, group in table.groupby("case_id"):
        assert group["rank"].tolist() == list(range(1, k + 1))
        assert group["expert_id"].is_unique
        assert group["score"].is_monotonic_decreasing
        for expert_id, name in group[["expert_id", "expert_name"]].itertuples(
            index=False
        ):
            assert names[expert_id] == name, case_id
    metrics_dir = project / "data" / "08_reporting" / "inference_metrics.json"
    metrics = json.loads(next(metrics_dir.glob("*/inference_metrics.json")).read_text())
    assert metrics["n_agendas"] == len(cases)
    assert 0 < metrics["latency_p50_s"] <= metrics["latency_p95_s"]
    assert metrics["mode"] == "rerank"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("[]", "empty list"),
        ('{"q": "What?"}', "not a list"),
        ("", "empty"),
        ('["Where is the market going?"', "truncated"),
    ],
)
def test_bad_agendas_name_the_case(cell, message):
    table = pd.DataFrame({"case_id": ["ok", "bad-7"], "agenda": ['["Fine?"]', cell]})
    with pytest.raises(ValueError, match=message) as error:
        parse_new_agendas(table)
    assert "bad-7" in str(error.value)


def test_tolerant_parsing_and_duplicate_cases():
    parsed = parse_new_agendas(
        pd.DataFrame({"case_id": ["a"], "agenda": ["['Pricing &amp; share?',]"]})
    )
    assert parsed["agenda"].iloc[0] == ["Pricing & share?"]
    with pytest.raises(ValueError, match="repeats case_id"):
        parse_new_agendas(
            pd.DataFrame({"case_id": ["a", "a"], "agenda": ['["Q?"]'] * 2})
        )
