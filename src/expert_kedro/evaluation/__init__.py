"""Evaluation helpers: ranking metrics with bootstrap intervals, rankings tables,
reports and the LLM systems ranked on held-out projects."""
