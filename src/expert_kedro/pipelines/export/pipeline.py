"""Wiring of the export pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import describe_served_model, merge_lora_adapter, package_served_model


def create_pipeline(**kwargs) -> Pipeline:
    """base_model + lora_adapter -> served_model (merged folder, adapter, card)."""
    return Pipeline(
        [
            node(
                merge_lora_adapter,
                inputs=[
                    "base_model",
                    "lora_adapter",
                    "params:export",
                    "params:recommender",
                ],
                outputs=["merged_model", "merged_tokenizer"],
                name="merge_lora_adapter_node",
            ),
            node(
                describe_served_model,
                inputs=[
                    "merged_model",
                    "merged_tokenizer",
                    "base_model",
                    "lora_adapter",
                    "params:export",
                    "params:recommender",
                    "params:pairs",
                ],
                outputs="served_model_card",
                name="describe_served_model_node",
            ),
            node(
                package_served_model,
                inputs=[
                    "merged_model",
                    "merged_tokenizer",
                    "lora_adapter",
                    "served_model_card",
                    "params:export",
                ],
                outputs="served_model",
                name="package_served_model_node",
            ),
        ]
    )
