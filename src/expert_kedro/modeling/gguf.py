"""GGUF checkpoints made plain Hugging Face models (done once per base model)."""

from __future__ import annotations

import logging
from typing import Any

from expert_kedro.modeling.handles import ModelSource

logger = logging.getLogger(__name__)


def _fix_special_tokens(tokenizer: Any, config: Any) -> None:
    # GGUF exports may carry the BOS id as EOS (SmolLM2's GGUF says eos=<|im_start|>
    # while its config says eos_token_id=2=<|im_end|>); trust the model config, or the
    # model would never learn to stop after an answer.
    eos_id = config.eos_token_id
    if isinstance(eos_id, list):
        eos_id = eos_id[0]
    if eos_id is not None and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def dequantize_gguf(source: ModelSource) -> tuple[Any, Any]:
    """Convert a GGUF checkpoint into a plain float32 Hugging Face model.

    transformers de-quantizes GGUF tensors on load; the weights are then copied into
    a fresh model built from the same config minus ``quantization_config`` so that
    ``save_pretrained`` writes ordinary safetensors that load fast (and in 4-bit).

    Args:
        source: A GGUF :class:`ModelSource`.

    Returns:
        ``(model, tokenizer)`` ready for ``save_pretrained``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    if not source.is_gguf:
        raise ValueError(f"{source.describe()} is not a GGUF source.")
    kwargs = {"gguf_file": source.gguf_file, "revision": source.revision}
    kwargs["token"] = source.token
    logger.info("De-quantizing %s (slow, done once)", source.describe())
    tokenizer = AutoTokenizer.from_pretrained(source.name_or_path, **kwargs)
    gguf_model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = source.name_or_path
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    # Tied embeddings make lm_head.weight "missing" legitimately.
    tied = config.tie_word_embeddings
    missing = [k for k in missing if not (tied and k.startswith("lm_head"))]
    if missing or unexpected:
        raise RuntimeError(
            f"GGUF conversion of {source.describe()} left missing={missing[:5]} "
            f"unexpected={unexpected[:5]} weights."
        )
    model.tie_weights()
    _fix_special_tokens(tokenizer, config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
