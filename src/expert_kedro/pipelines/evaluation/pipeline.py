"""Wiring of the evaluation pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([])
