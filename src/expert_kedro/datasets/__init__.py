"""Custom Kedro datasets for models (base model source/folder, LoRA adapters, the
cross-encoder peer, the fitted retrieval index, exports for serving) and optional
records (tuned values)."""

from expert_kedro.datasets.base_model_dataset import BaseModelDataset
from expert_kedro.datasets.cross_encoder_dataset import CrossEncoderDataset
from expert_kedro.datasets.lora_adapter_dataset import LoRAAdapterDataset
from expert_kedro.datasets.model_source_dataset import ModelSourceDataset
from expert_kedro.datasets.optional_json_dataset import OptionalJSONDataset
from expert_kedro.datasets.retrieval_index_dataset import RetrievalIndexDataset
from expert_kedro.datasets.served_model_dataset import ServedModelDataset

__all__ = [
    "BaseModelDataset",
    "CrossEncoderDataset",
    "LoRAAdapterDataset",
    "ModelSourceDataset",
    "OptionalJSONDataset",
    "RetrievalIndexDataset",
    "ServedModelDataset",
]
