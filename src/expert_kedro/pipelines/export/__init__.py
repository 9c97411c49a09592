"""export pipeline: the fine-tuned model as a standalone folder for serving."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
