"""The LLM scoring engine: prompts scored by yes/no logits or log-probabilities,
with shared-prefix, packed and cached layouts and optional fused kernels."""
