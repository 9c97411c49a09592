"""Project pipelines, registered explicitly.

``find_pipelines()`` only discovers folders, so the composed ``training`` pipeline
(and ``__default__``) are assembled here by hand.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from expert_kedro.pipelines import (
    augmentation,
    data_processing,
    evaluation,
    evaluation_llm,
    export,
    inference,
    model_training,
    rerank_pairs,
    retrieval,
    stackexchange_import,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = {
        "data_processing": data_processing.create_pipeline(),
        "retrieval": retrieval.create_pipeline(),
        "augmentation": augmentation.create_pipeline(),
        "rerank_pairs": rerank_pairs.create_pipeline(),
        "model_training": model_training.create_pipeline(),
        "inference": inference.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
        # Needs a trained lora_adapter; writes served_model (docs/serving.md).
        "export": export.create_pipeline(),
        # Real Stack Exchange data into the raw schema; run with --env stackexchange
        # (docs/stackexchange.md). Not part of __default__.
        "stackexchange_import": stackexchange_import.create_pipeline(),
    }
    pipelines["training"] = (
        pipelines["data_processing"]
        + pipelines["retrieval"]
        + pipelines["augmentation"]
        + pipelines["rerank_pairs"]
        + pipelines["model_training"]
    )
    # Baselines, the zero-shot base model, the fine-tuned LLM recommender (needs
    # a trained lora_adapter) and its cross-encoder peer (trained here).
    pipelines["evaluation_llm"] = (
        evaluation.create_pipeline(
            extra_rankings=[
                "llm_rankings",
                "zero_shot_rankings",
                "cross_encoder_rankings",
            ]
        )
        + evaluation_llm.create_pipeline()
    )
    pipelines["__default__"] = pipelines["training"] + pipelines["evaluation"]
    return pipelines
