"""The listwise ranking loss against a manual computation."""

from __future__ import annotations

import math

import pytest
import torch

from expert_kedro.modeling.ranking_loss import answer_scores, listwise_loss


def _manual(scores: list[float], positives: list[bool], temperature: float = 1.0):
    """-log(sum over positives of exp(s/T) / sum over candidates of exp(s/T))."""
    every = sum(math.exp(s / temperature) for s in scores)
    right = sum(
        math.exp(s / temperature) for s, p in zip(scores, positives, strict=True) if p
    )
    return -math.log(right / every)


def _loss(scores, query, positive, temperature=1.0):
    return listwise_loss(
        torch.tensor(scores, requires_grad=True),
        torch.tensor(query),
        torch.tensor(positive),
        temperature,
    )


def test_one_positive_is_the_softmax_cross_entropy_of_its_query():
    loss, queries = _loss([1.0, 0.0, -1.0], [0, 0, 0], [True, False, False])
    assert queries == 1
    assert loss.item() == pytest.approx(_manual([1.0, 0.0, -1.0], [1, 0, 0]))
    expected = torch.nn.functional.cross_entropy(
        torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([0])
    )
    assert loss.item() == pytest.approx(expected.item())


def test_several_positives_share_the_numerator_and_queries_are_averaged():
    scores = [2.0, 1.5, -0.5, 0.3, 0.0, 1.0, 0.7]
    query = [0, 0, 0, 0, 1, 1, 1]
    positive = [True, True, False, False, False, True, False]
    loss, queries = _loss(scores, query, positive)
    first = _manual(scores[:4], positive[:4])
    second = _manual(scores[4:], positive[4:])
    assert queries == 2
    assert loss.item() == pytest.approx((first + second) / 2)


def test_queries_without_a_positive_or_a_negative_are_left_out():
    scores = [0.4, -0.2, 1.0, 3.0, 2.0, 0.1, -1.0]
    query = [0, 0, 1, 1, 2, 2, 2]
    # Query 0 has no positive, query 1 no negative: only query 2 is ranked.
    positive = [False, False, True, True, False, True, False]
    loss, queries = _loss(scores, query, positive)
    assert queries == 1
    assert loss.item() == pytest.approx(_manual(scores[4:], positive[4:]))
    loss.backward()


def test_a_batch_with_nothing_to_rank_gives_a_connected_zero():
    scores = torch.tensor([0.5, 1.5], requires_grad=True)
    loss, queries = listwise_loss(
        scores, torch.tensor([0, 0]), torch.tensor([False, False])
    )
    assert queries == 0 and loss.item() == 0.0
    loss.backward()
    assert torch.equal(scores.grad, torch.zeros(2))


def test_temperature_divides_the_scores():
    scores, positive = [1.0, 0.2, -0.4], [False, True, False]
    for temperature in (0.5, 2.0):
        loss, _ = _loss(scores, [0, 0, 0], positive, temperature)
        assert loss.item() == pytest.approx(_manual(scores, positive, temperature))


def test_far_apart_scores_stay_finite_and_so_do_the_gradients():
    scores = torch.tensor([-200.0, 150.0, 0.0, 90.0, 7.0], requires_grad=True)
    query = torch.tensor([0, 0, 0, 1, 1])
    positive = torch.tensor([True, False, False, False, False])
    loss, queries = listwise_loss(scores, query, positive)
    assert queries == 1
    assert loss.item() == pytest.approx(350.0)
    loss.backward()
    assert torch.isfinite(scores.grad).all()
    # The positive is pulled up, the winning negative pushed down; query 1 (no
    # positive) gets no gradient.
    assert scores.grad[0] < 0 < scores.grad[1]
    assert torch.equal(scores.grad[3:], torch.zeros(2))


def test_answer_scores_read_yes_minus_no_at_the_given_flat_positions():
    torch.manual_seed(0)
    head = torch.nn.Linear(4, 10, bias=False)
    hidden = torch.randn(2, 3, 4)
    scores = answer_scores(hidden, head, torch.tensor([1, 5]), (7, 2))
    logits = head(hidden)
    expected = torch.stack(
        [logits[0, 1, 7] - logits[0, 1, 2], logits[1, 2, 7] - logits[1, 2, 2]]
    )
    assert torch.allclose(scores, expected)


def test_the_settings_name_what_they_refuse():
    from expert_kedro.modeling.settings import ModelTrainingSettings

    assert not ModelTrainingSettings().ranking_loss.enabled
    with pytest.raises(ValueError, match=r"model_training\.ranking_loss\.weight"):
        ModelTrainingSettings.from_params({"ranking_loss": {"weight": -1}})
    with pytest.raises(ValueError, match=r"ranking_loss\.temperature"):
        ModelTrainingSettings.from_params({"ranking_loss": {"temperature": 0}})
    # The answer is found as the first trained token: the prompt must be masked.
    with pytest.raises(ValueError, match="completion_only_loss: true"):
        ModelTrainingSettings.from_params(
            {
                "ranking_loss": {"weight": 1.0},
                "tokenization": {"completion_only_loss": False},
            }
        )
