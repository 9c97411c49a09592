"""rerank_pairs pipeline: pointwise rerank examples and the mode's training set."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
