"""What the reporting datasets become as MLflow metrics (no MLflow needed)."""

from __future__ import annotations

from expert_kedro.tracking.records import (
    MetricPoint,
    evaluation_points,
    history_points,
    metric_key,
)

HISTORY = {
    "device": {"device": "cpu"},
    "steps": [
        {"step": 1, "epoch": 0.5, "loss": 2.0, "learning_rate": 1e-3, "grad_norm": 3},
        {"step": 2, "epoch": 1.0, "loss": 1.5, "learning_rate": 5e-4},
    ],
    "eval": [
        {"step": 0, "eval_loss": 2.5, "eval_rank_mrr": 0.25, "eval_rank_hit@1": 0.0},
        {"step": 2, "eval_loss": 1.8, "eval_rank_mrr": 0.5, "eval_rank_hit@1": 0.5},
    ],
    "eval_loss_min": 1.8,
    "tokens_per_second": None,
    "global_step": 2,
    "fsdp": False,
    "selection": {"metric": "mrr", "best_step": 2},
}


def test_metric_keys_are_valid_mlflow_keys():
    assert metric_key("test", "hybrid+prior", "full", "recall@10") == (
        "test/hybrid_prior/full/recall_at_10"
    )
    assert metric_key("eval_rank_hit@1") == "eval_rank_hit_at_1"


def test_history_gives_curves_with_steps_and_summary_numbers():
    points = history_points(HISTORY)
    curves: dict[str, list[tuple[int, float]]] = {}
    for point in points:
        curves.setdefault(point.key, []).append((point.step, point.value))
    assert curves["loss"] == [(1, 2.0), (2, 1.5)]
    assert curves["grad_norm"] == [(1, 3.0)]  # no value, no point
    assert curves["eval_loss"] == [(0, 2.5), (2, 1.8)]
    assert curves["eval_rank_mrr"] == [(0, 0.25), (2, 0.5)]
    assert curves["eval_rank_hit_at_1"] == [(0, 0.0), (2, 0.5)]
    assert curves["training/global_step"] == [(0, 2.0)]
    assert curves["training/eval_loss_min"] == [(0, 1.8)]
    # Booleans, None, nested records and epochs are not metrics.
    assert not {"training/fsdp", "training/tokens_per_second", "epoch"} & set(curves)
    assert not any(key.startswith("training/selection") for key in curves)


def test_evaluation_report_gives_each_metric_with_its_interval():
    summary = {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}
    report = {
        "systems": {"bm25": {"full": {"mrr": summary, "recall@10": summary}}},
        "validation": {"hybrid+prior": {"full": {"mrr": {"value": 0.7}}}},
        "roster_size": 150,
        "date": "2026-01-01",
    }
    points = evaluation_points(report)
    assert MetricPoint("test/bm25/full/mrr", 0.5) in points
    assert MetricPoint("test/bm25/full/recall_at_10.ci_low", 0.4) in points
    assert MetricPoint("test/bm25/full/recall_at_10.ci_high", 0.6) in points
    assert MetricPoint("validation/hybrid_prior/full/mrr", 0.7) in points
    assert len(points) == 7
