"""Ids are text: never parsed, ordered by value when decimal, seeded stably."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expert_kedro.identifiers import (
    as_id,
    as_id_list,
    id_seed,
    sort_by_ids,
    sorted_ids,
)


def test_text_is_kept_and_integers_become_their_decimal_text():
    assert [as_id(v) for v in ("2.1e5", "0042", "A-17", np.str_("7"))] == [
        "2.1e5",
        "0042",
        "A-17",
        "7",
    ]
    assert type(as_id(np.str_("7"))) is str
    assert as_id(np.int64(1658)) == as_id(1658) == "1658"
    assert as_id_list(np.array([1, 2])) == ["1", "2"]
    assert as_id_list(None) == [] and as_id_list("x") == ["x"]


@pytest.mark.parametrize("value", [210000.0, 43119.9, None, True])
def test_floats_and_other_values_are_refused_not_rewritten(value):
    with pytest.raises(TypeError, match="ids must be text"):
        as_id(value)


def test_decimal_ids_sort_by_value_then_text():
    ids = ["100", "95", "A-17", "0042", "42", "2.1e5", "7"]
    assert sorted_ids(ids) == ["7", "0042", "42", "95", "100", "2.1e5", "A-17"]
    frame = pd.DataFrame(
        {"project_id": ["100", "95", "95"], "expert_id": ["2", "10", "9"]}
    )
    ordered = sort_by_ids(frame, ["project_id", "expert_id"])
    assert ordered.values.tolist() == [["95", "9"], ["95", "10"], ["100", "2"]]


def test_seeds_equal_the_integer_for_canonical_decimal_ids():
    assert id_seed("208827") == 208827
    # Anything else hashes, stably across runs: "0042" must not share 42's seed.
    assert id_seed("0042") != 42
    assert id_seed("A-17") == id_seed("A-17") == 8349505961266929185
    assert id_seed("A-17") != id_seed("A-18")
