"""Project splitter: no leaks, determinism, grouped projects, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.pipelines.data_processing.nodes import (
    build_evaluation_projects,
    split_projects,
)
from expert_kedro.preprocessing.splitting import (
    assign_splits,
    group_projects,
)

FRACTIONS = {"train": 0.7, "validation": 0.1, "test": 0.2}
PARAMS = {"seed": 3, "fractions": FRACTIONS, "ensure_train_coverage": False}


def _matches(n_projects: int = 200, first_id: int = 1000) -> pd.DataFrame:
    """Projects first_id.. with 4-question agendas; every 5th has two experts.

    Ids are text, as in ``clean_matches``.
    """
    rows = []
    for i in range(n_projects):
        project_id = first_id + i
        agenda = [f"Q{j} of project #{i}?" for j in range(4)]
        experts = [i % 40, 100 + i % 40] if i % 5 == 0 else [i % 40]
        rows += [
            {
                "project_id": str(project_id),
                "project_title": f"P{project_id}",
                "agenda": agenda,
                "expert_id": str(expert_id),
            }
            for expert_id in experts
        ]
    # Two projects with the same agenda, and one whose agenda is inside another's.
    rows[-1]["agenda"] = list(rows[-2]["agenda"])
    rows[-3]["agenda"] = rows[-4]["agenda"][:3]
    return pd.DataFrame(rows)


def _split(matches, **overrides):
    return split_projects(matches, PARAMS | overrides)


def test_every_project_in_exactly_one_split_with_requested_fractions():
    matches = _matches()
    splits, report = _split(matches)
    assert splits["project_id"].is_unique
    assert set(splits["project_id"]) == set(matches["project_id"])
    assert set(splits["split"]) == {"train", "validation", "test"}
    assert report["projects_per_split"] == {"train": 140, "validation": 20, "test": 40}


def test_two_expert_projects_stay_together_and_validation_lists_both():
    matches = _matches()
    splits, _ = _split(matches)
    merged = matches.merge(splits, on="project_id")
    assert merged.groupby("project_id")["split"].nunique().max() == 1
    validation, test = build_evaluation_projects(matches, splits)
    both = pd.concat([validation, test])
    two = both[both["project_id"].astype(int) % 5 == 0]
    assert len(two) > 0
    assert all(len(ids) == 2 for ids in two["acceptable_expert_ids"])
    assert set(validation["project_id"]).isdisjoint(test["project_id"])
    assert list(validation.columns) == [
        "project_id",
        "project_title",
        "created_at",
        "agenda",
        "acceptable_expert_ids",
    ]


@pytest.mark.parametrize("seed", range(8))
def test_identical_and_contained_agendas_share_a_split(seed):
    matches = _matches()
    splits, report = _split(matches, seed=seed)
    split_of = splits.set_index("project_id")["split"]
    last = matches["project_id"].iloc[-1]
    before_last = matches["project_id"].iloc[-2]
    assert split_of[last] == split_of[before_last]
    contained = matches["project_id"].iloc[-3]
    assert split_of[contained] == split_of[matches["project_id"].iloc[-4]]
    assert report["identical_agenda_groups"] == [[before_last, last]]
    assert len(report["subset_agenda_pairs"]) == 1


def test_seeded_split_is_deterministic_and_seed_matters():
    matches = _matches()
    first, _ = _split(matches)
    again, _ = _split(matches.sample(frac=1, random_state=0))
    other, _ = _split(matches, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first["split"].equals(other["split"])


def test_split_follows_numeric_order_of_integer_looking_ids():
    # Ids 95..294 cross from two to three digits: as text, "100" < "95", and a
    # text order would hand the seeded shuffle another order than the integers
    # got. Ids are ordered by value, so project #i lands in the same split
    # whatever its (order-preserving) id.
    low, _ = _split(_matches(first_id=95))
    high, _ = _split(_matches(first_id=1000))
    low = low.assign(i=low["project_id"].astype(int) - 95).sort_values("i")
    high = high.assign(i=high["project_id"].astype(int) - 1000).sort_values("i")
    assert low["split"].tolist() == high["split"].tolist()


def test_opaque_ids_split_like_any_other():
    matches = _matches(50)
    matches["project_id"] = "P-" + matches["project_id"]
    matches["expert_id"] = "0" + matches["expert_id"]
    splits, report = _split(matches, ensure_train_coverage=True)
    assert set(splits["project_id"]) == set(matches["project_id"])
    train = set(splits.loc[splits["split"] == "train", "project_id"])
    train_experts = set(matches.loc[matches["project_id"].isin(train), "expert_id"])
    assert train_experts == set(matches["expert_id"])
    assert all(e.startswith("0") for e in report["experts_moved_to_train_for_coverage"])


def test_train_coverage_moves_unseen_experts_into_train():
    matches = _matches(60)
    splits, report = _split(matches, ensure_train_coverage=True)
    train = set(splits.loc[splits["split"] == "train", "project_id"])
    train_experts = set(matches.loc[matches["project_id"].isin(train), "expert_id"])
    assert train_experts == set(matches["expert_id"])
    assert report["experts_moved_to_train_for_coverage"]


def test_group_projects_handles_chains():
    agendas = {
        "10": ["a", "b"],
        "2": ["a", "b", "c"],
        "3": ["a", "b", "c", "d"],
        "4": ["x"],
    }
    groups, report = group_projects(agendas)
    # The group id is the smallest id by value ("2" < "10").
    assert groups == {"10": "2", "2": "2", "3": "2", "4": "4"}
    assert ["10", "2"] in report["subset_agenda_pairs"]
    assignment = assign_splits(groups, FRACTIONS, seed=0)
    assert assignment["10"] == assignment["2"] == assignment["3"]


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.7, "validation": 0.2},
        {"train": 0.7, "validation": 0.2, "test": 0.2},
        {"train": 1.2, "validation": -0.2, "test": 0.0},
    ],
)
def test_bad_fractions_are_rejected(fractions):
    with pytest.raises(ValueError, match=r"split\.fractions"):
        _split(_matches(10), fractions=fractions)


def test_an_export_too_small_for_a_split_fails_naming_counts_and_remedies():
    with pytest.raises(ValueError) as error:
        _split(_matches(n_projects=3))
    message = str(error.value)
    assert "left no validation" in message
    assert "3 project(s) (train 2, validation 0, test 1)" in message
    assert "stackexchange.profile_share" in message
    assert "split.fractions" in message


def test_a_split_asked_to_stay_empty_may_stay_empty():
    fractions = {"train": 0.8, "validation": 0.0, "test": 0.2}
    splits, report = _split(_matches(n_projects=10), fractions=fractions)
    assert report["projects_per_split"]["validation"] == 0
    assert set(splits["split"]) == {"train", "test"}
