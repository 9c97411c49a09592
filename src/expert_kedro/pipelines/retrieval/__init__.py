"""retrieval pipeline: fit the candidate retriever once and save it as an artifact."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
