"""Variable-length (padding-free) attention for transformers models: ``varlen``.

With ``padding_free`` batches trl concatenates a micro-batch into one row and marks
where each example starts by resetting ``position_ids`` to 0. transformers' ``sdpa``
then builds a dense block-diagonal mask over the whole row: memory and compute grow
with the *square* of the micro-batch's token count, and SDPA cannot use its flash
kernel with a mask. ``varlen`` hands the row to PyTorch's own FlashAttention
variable-length kernel (``torch.nn.attention.varlen.varlen_attn``) with the example
boundaries as ``cu_seqlens``: each example attends causally to itself only, at
flash speed, with no mask and no padding. No extra package is needed.

Use it with ``attn_implementation: varlen`` (``load_base_model`` registers it).
Outside the padding-free case (a padded batch, a KV cache during generation, no
CUDA) it falls back to per-example SDPA or plain ``sdpa``, so the same model object
also serves evaluation and inference. Given ``shared_prefix_layout=`` (rerank
scoring, :mod:`expert_kedro.modeling.shared_prefix_attention`) it runs a packed row
of agenda prompts, each followed by its candidates' blocks.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from expert_kedro.modeling.shared_prefix_attention import (
    LAYOUT_KWARG,
    SharedPrefixLayout,
    gather_keys,
    reference_attention,
)

logger = logging.getLogger(__name__)

VARLEN = "varlen"


def cu_seqlens_from_position_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """Cumulative example boundaries of a padding-free row.

    Args:
        position_ids: ``(total_tokens,)`` positions that restart at 0 at the first
            token of every example (trl's padding-free collator).

    Returns:
        ``int32`` tensor ``[0, end_1, end_2, ..., total_tokens]``.
    """
    starts = torch.nonzero(position_ids == 0).flatten()
    if starts.numel() == 0 or starts[0] != 0:
        starts = torch.cat([starts.new_zeros(1), starts])
    total = starts.new_tensor([position_ids.numel()])
    return torch.cat([starts, total]).to(torch.int32)


def _is_padding_free_row(query: torch.Tensor, position_ids: Any) -> bool:
    return (
        position_ids is not None
        and query.shape[0] == 1
        and position_ids.shape[-1] == query.shape[2]
    )


def _segments_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    scaling: float | None,
) -> torch.Tensor:
    # Reference path (CPU, tests): causal SDPA on each example of the row separately.
    groups = query.shape[1] // key.shape[1]
    bounds = cu_seqlens.tolist()
    outputs = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        k = key[:, :, start:end].repeat_interleave(groups, dim=1)
        v = value[:, :, start:end].repeat_interleave(groups, dim=1)
        q = query[:, :, start:end]
        outputs.append(
            F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scaling)
        )
    return torch.cat(outputs, dim=2)


class _CudaVarlen:
    """Calls ``varlen_attn`` whatever its keyword spelling in this torch release."""

    def __init__(self) -> None:
        from torch.nn.attention.varlen import varlen_attn  # noqa: PLC0415

        params = inspect.signature(varlen_attn).parameters
        self.fn = varlen_attn
        # Releases differ: older ones take is_causal=True, newer ones
        # window_size=(-1, 0) (torch 2.13 here); the H200's torch 2.11 ran
        # through this check.
        self.causal = (
            {"window_size": (-1, 0)} if "window_size" in params else {"is_causal": True}
        )
        self.native_gqa = "enable_gqa" in params
        # Boundaries are the same for every layer of one forward: compute them once.
        self._cache: tuple[Any, torch.Tensor, int] | None = None
        self._aligned: bool | None = None

    def boundaries(self, position_ids: torch.Tensor) -> tuple[torch.Tensor, int]:
        if self._cache is not None and self._cache[0] is position_ids:
            return self._cache[1], self._cache[2]
        cu_seqlens = cu_seqlens_from_position_ids(position_ids.flatten())
        max_len = int((cu_seqlens[1:] - cu_seqlens[:-1]).max())
        self._cache = (position_ids, cu_seqlens, max_len)
        return cu_seqlens, max_len

    def __call__(self, query, key, value, position_ids, scaling):  # noqa: D102
        cu_seqlens, max_len = self.boundaries(position_ids)
        # (1, H, T, D) -> (T, H, D), the kernel's packed layout.
        q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))
        out = self.attend(q, k, v, (cu_seqlens, cu_seqlens, max_len, max_len), scaling)
        return out.unsqueeze(0)  # (1, T, H, D), the interface's layout

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        segments: tuple[torch.Tensor, torch.Tensor, int, int],
        scaling: float | None,
    ) -> torch.Tensor:
        """Causal varlen attention of packed ``(tokens, heads, head_dim)`` tensors;
        ``segments`` = ``(cu_seq_q, cu_seq_k, max_q, max_k)``."""
        groups = q.shape[1] // k.shape[1]
        extra = dict(self.causal)
        if groups > 1 and self.native_gqa:
            extra["enable_gqa"] = True
        elif groups > 1:
            k = k.repeat_interleave(groups, dim=1)
            v = v.repeat_interleave(groups, dim=1)
        # The kernel takes bf16/fp16 only; fp32 queries come from upcast norms/RoPE.
        dtype = q.dtype
        kernel_dtype = dtype if dtype in _HALF else _autocast_or_bf16()
        q, k, v = (t.to(kernel_dtype) for t in (q, k, v))
        out = self.fn(q, k, v, *segments, scale=scaling, **extra)
        return out.to(dtype)

    def aligned_to_last_key(self, device: torch.device) -> bool:
        """Whether the kernel's causal mask of a segment with more keys than
        queries is aligned to the last key (FlashAttention's rule), which shared
        prefixes need; checked once against SDPA with an explicit mask."""
        if self._aligned is None:
            generator = torch.Generator(device="cpu").manual_seed(0)
            q, k, v = (
                torch.randn(n, 1, 64, generator=generator).to(device, torch.bfloat16)
                for n in (2, 5, 5)
            )
            bounds = (
                torch.tensor([0, 2], dtype=torch.int32, device=device),
                torch.tensor([0, 5], dtype=torch.int32, device=device),
                2,
                5,
            )
            got = self.attend(q, k, v, bounds, None).float()
            mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], device=device)
            # Outside autocast: first called inside the Trainer's forward (ranking
            # validation), where SDPA on float32 would return bf16.
            with torch.autocast(device_type=device.type, enabled=False):
                want = F.scaled_dot_product_attention(
                    *(t.float().transpose(0, 1) for t in (q, k, v)),
                    attn_mask=mask.bool(),
                ).transpose(0, 1)
            self._aligned = bool(torch.allclose(got, want, atol=3e-2))
            if not self._aligned:
                logger.warning(
                    "This torch's varlen kernel aligns the causal mask of a segment "
                    "to its first key, not its last: shared-prefix rows run "
                    "through per-segment SDPA (correct, slower). Set "
                    "recommender.packing: false to compare."
                )
        return self._aligned


_HALF = (torch.bfloat16, torch.float16)


def _autocast_or_bf16() -> torch.dtype:
    if torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return torch.bfloat16


_CUDA_VARLEN: _CudaVarlen | None = None


def _cuda_varlen() -> _CudaVarlen:
    global _CUDA_VARLEN  # noqa: PLW0603
    if _CUDA_VARLEN is None:
        _CUDA_VARLEN = _CudaVarlen()
    return _CUDA_VARLEN


def _shared_prefix_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: SharedPrefixLayout,
    scaling: float | None,
) -> torch.Tensor:
    # A row of shared prefixes and their suffixes (see shared_prefix_attention).
    layout.attention_calls += 1
    if query.is_cuda and _cuda_varlen().aligned_to_last_key(query.device):
        k, v = gather_keys(key, value, layout)
        q = query[0].transpose(0, 1)
        segments = (layout.cu_seq_q, layout.cu_seq_k, layout.max_q, layout.max_k)
        return _cuda_varlen().attend(q, k, v, segments, scaling).unsqueeze(0)
    return reference_attention(query, key, value, layout, scaling)


def varlen_attention_forward(  # noqa: PLR0917 (transformers' positional interface)
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention interface: padding-free rows via varlen kernels.

    Args:
        module: The attention module (unused beyond the interface).
        query: ``(batch, heads, tokens, head_dim)``.
        key: ``(batch, kv_heads, tokens, head_dim)``.
        value: Same shape as ``key``.
        attention_mask: Padding mask of a padded batch, or None.
        dropout: Attention dropout (must be 0 on the varlen path).
        scaling: Softmax scale.
        **kwargs: ``position_ids`` marks the examples of a padding-free row.

    Returns:
        ``(output (batch, tokens, heads, head_dim), None)``.
    """
    layout = kwargs.get(LAYOUT_KWARG)
    if layout is not None:
        return _shared_prefix_attention(query, key, value, layout, scaling), None
    position_ids = kwargs.get("position_ids")
    packed = (
        attention_mask is None
        and _is_padding_free_row(query, position_ids)
        and key.shape[2] == query.shape[2]  # no KV cache in front
    )
    if packed and query.is_cuda and dropout == 0.0:
        return _cuda_varlen()(query, key, value, position_ids, scaling), None
    if packed:
        cu_seqlens = cu_seqlens_from_position_ids(position_ids.flatten())
        out = _segments_sdpa(query, key, value, cu_seqlens, scaling)
        return out.transpose(1, 2).contiguous(), None
    from transformers.integrations.sdpa_attention import (  # noqa: PLC0415
        sdpa_attention_forward,
    )

    mask = _dense_mask(attention_mask, query.shape[2], key.shape[2], query.device)
    return sdpa_attention_forward(
        module, query, key, value, mask, dropout, scaling, **kwargs
    )


def _dense_mask(
    padding_mask: torch.Tensor | None, q_len: int, kv_len: int, device: torch.device
) -> torch.Tensor | None:
    # Padded batches and cached prefixes: causal mask aligned to the last key
    # (queries are the newest tokens), combined with the 2D padding mask.
    if padding_mask is None and q_len == kv_len:
        return None  # plain causal: SDPA's is_causal, flash kernel allowed
    q_pos = torch.arange(kv_len - q_len, kv_len, device=device)
    mask = (q_pos[:, None] >= torch.arange(kv_len, device=device)[None, :])[None, None]
    if padding_mask is not None:
        mask = mask & padding_mask[:, None, None, -kv_len:].bool()
    # A padding query with nothing to attend to would give NaN; its output is unused.
    return mask | ~mask.any(dim=-1, keepdim=True)


def register_varlen_attention() -> None:
    """Make ``attn_implementation="varlen"`` known to transformers (idempotent)."""
    from transformers import AttentionInterface  # noqa: PLC0415
    from transformers.masking_utils import (  # noqa: PLC0415
        AttentionMaskInterface,
        flash_attention_mask,
    )

    AttentionInterface.register(VARLEN, varlen_attention_forward)
    # Like FlashAttention: no 4D mask is built (a padding-free row would otherwise
    # get a dense block-diagonal one); a padded batch keeps its 2D padding mask.
    AttentionMaskInterface.register(VARLEN, flash_attention_mask)
