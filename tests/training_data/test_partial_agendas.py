"""Partial-agenda generator: sizes, order, determinism, no duplicates."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expert_kedro.training_data.partial_agendas import make_partial_agendas

AGENDA = [f"Question {i}?" for i in range(8)]


def test_sizes_order_and_count():
    variants = make_partial_agendas(AGENDA, sizes=(3, 4), n_variants=20, seed=1)
    assert len(variants) == 20
    assert {len(v) for v in variants} == {3, 4}
    for variant in variants:
        positions = [AGENDA.index(q) for q in variant]
        assert positions == sorted(positions)


def test_no_duplicates_and_never_the_full_agenda():
    agenda = AGENDA[:4]
    # Only C(4, 3) = 4 distinct subsets exist; size 4 would be the full agenda.
    variants = make_partial_agendas(agenda, sizes=(3, 4), n_variants=10, seed=0)
    assert sorted(map(tuple, variants)) == sorted(
        tuple(q for q in agenda if q != dropped) for dropped in agenda
    )


def test_duplicate_questions_do_not_give_duplicate_variants():
    agenda = ["Same?", "Same?", "Same?", "Other?"]
    variants = make_partial_agendas(agenda, sizes=(3,), n_variants=5, seed=0)
    assert sorted(map(tuple, variants)) == [
        ("Same?", "Same?", "Other?"),
        ("Same?", "Same?", "Same?"),
    ]


def test_seeded_and_deterministic():
    first = make_partial_agendas(AGENDA, seed=[7, 1234])
    assert first == make_partial_agendas(AGENDA, seed=[7, 1234])
    others = [make_partial_agendas(AGENDA, seed=[7, s]) for s in range(5)]
    assert any(o != first for o in others)


def test_short_agendas_and_zero_variants_give_nothing():
    assert make_partial_agendas(AGENDA[:3], sizes=(3, 4)) == []
    assert make_partial_agendas(AGENDA[:5], min_questions=6) == []
    assert make_partial_agendas(AGENDA, n_variants=0) == []


@pytest.mark.parametrize("kwargs", [{"n_variants": -1}, {"sizes": (0, 3)}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match="make_partial_agendas"):
        make_partial_agendas(AGENDA, **kwargs)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=12),
    n_variants=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_properties(n, n_variants, seed):
    agenda = [f"Q{i}?" for i in range(n)]
    variants = make_partial_agendas(agenda, n_variants=n_variants, seed=seed)
    distinct = {tuple(v) for v in variants}
    assert len(distinct) == len(variants)
    assert tuple(agenda) not in distinct
    assert all(len(v) in (3, 4) and len(v) < n for v in variants)
    if n >= 4:
        available = sum(math.comb(n, k) for k in (3, 4) if k < n)
        assert len(variants) == min(n_variants, available)
    else:
        assert variants == []
