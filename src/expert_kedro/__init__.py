"""expert_kedro: QLoRA fine-tuning that recommends the right expert for an agenda."""

__version__ = "0.1.0"
