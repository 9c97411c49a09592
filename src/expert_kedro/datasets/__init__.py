"""Custom Kedro datasets for models (base model source/folder, LoRA adapters)."""

from expert_kedro.datasets.base_model_dataset import BaseModelDataset
from expert_kedro.datasets.lora_adapter_dataset import LoRAAdapterDataset
from expert_kedro.datasets.model_source_dataset import ModelSourceDataset

__all__ = ["BaseModelDataset", "LoRAAdapterDataset", "ModelSourceDataset"]
