"""Experiment tracking with kedro-mlflow, the optional ``tracking`` extra.

See docs/tracking.md: where the local store is, what each run logs and how to
point the project at an MLflow server.
"""

from expert_kedro.tracking.hooks import ExperimentTrackingHooks

__all__ = ["ExperimentTrackingHooks"]
