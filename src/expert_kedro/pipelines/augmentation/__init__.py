"""augmentation pipeline."""

from .partial_agendas import make_partial_agendas
from .pipeline import create_pipeline

__all__ = ["create_pipeline", "make_partial_agendas"]
