"""evaluation_llm pipeline: the fine-tuned and zero-shot LLM systems."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
