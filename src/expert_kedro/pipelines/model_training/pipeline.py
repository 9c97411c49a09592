"""Wiring of the model_training pipeline.

``training_examples`` / ``validation_examples`` come from rerank_pairs: the pairs
of the configured recommender mode (generative or rerank), same columns either way.

base_model_source ─┐
base_model_cache ──┴─ prepare_base_model_node ─ base_model ─┐
training_examples ─ training_subset ────────────────────────┼─ tokenized_train ──┐
validation_examples ─ validation_subset ────────────────────┴─ tokenized_validation
                                              train_lora_adapter_node ─ lora_adapter,
                                              training_history ─ loss_curve

train_lora_adapter_node also reads validation_projects, retrieval_index,
expert_roster and train_pairs: at each evaluation the reranker being trained ranks
validation agendas' candidates (hit@1 and MRR next to the validation loss; the
metric that can select the adapter saved). They are all persisted, so the
distributed run (``--from-nodes=verify_hardware_node``) reads them too.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from expert_kedro.modeling.loss_curve import plot_loss_curve

from .nodes import (
    prepare_base_model,
    select_training_subset,
    select_validation_subset,
    tokenize_examples,
    verify_hardware,
)
from .training_node import train_lora_adapter


def create_pipeline(**kwargs) -> Pipeline:
    """Create the model_training pipeline (QLoRA fine-tuning of the base model)."""
    return Pipeline(
        [
            Node(
                verify_hardware,
                inputs="params:model_training.quantization",
                outputs="training_hardware",
                name="verify_hardware_node",
            ),
            Node(
                prepare_base_model,
                inputs=["base_model_source", "base_model_cache"],
                outputs="base_model",
                name="prepare_base_model_node",
            ),
            Node(
                select_training_subset,
                inputs=["training_examples", "params:model_training"],
                outputs="training_subset",
                name="select_training_subset_node",
            ),
            Node(
                select_validation_subset,
                inputs=["validation_examples", "params:model_training"],
                outputs="validation_subset",
                name="select_validation_subset_node",
            ),
            Node(
                tokenize_examples,
                inputs=[
                    "training_subset",
                    "base_model",
                    "params:model_training.tokenization",
                    "params:recommender",
                ],
                outputs="tokenized_train",
                name="tokenize_train_node",
            ),
            Node(
                tokenize_examples,
                inputs=[
                    "validation_subset",
                    "base_model",
                    "params:model_training.tokenization",
                    "params:recommender",
                ],
                outputs="tokenized_validation",
                name="tokenize_validation_node",
            ),
            Node(
                train_lora_adapter,
                inputs=[
                    "base_model",
                    "tokenized_train",
                    "tokenized_validation",
                    "training_hardware",
                    "validation_projects",
                    "retrieval_index",
                    "expert_roster",
                    "train_pairs",
                    "params:model_training",
                    "params:recommender",
                ],
                outputs=["lora_adapter", "training_history"],
                name="train_lora_adapter_node",
            ),
            Node(
                plot_loss_curve,
                inputs="training_history",
                outputs="loss_curve",
                name="plot_loss_curve_node",
            ),
        ]
    )
