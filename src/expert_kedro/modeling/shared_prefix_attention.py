"""Attention over a packed row of shared prefixes and their suffixes.

Reranking scores ``K`` prompts per agenda that share the agenda's tokens and differ
only in the candidate's block. Packed into one padding-free row as
``[prefix_a, suffix_a1, ..., suffix_aK, prefix_b, ...]``, each prefix is computed
once and each suffix attends to its own prefix and to itself. Attention sees that
as variable-length segments whose queries are consecutive in the row and whose
keys are gathered: a prefix segment's keys are the prefix itself; a suffix
segment's keys are its prefix followed by the suffix, with the causal mask aligned
to the last key (a suffix token sees the whole prefix and the suffix tokens up to
itself). RoPE positions come from ``position_ids``, which continue the prefix's
positions in every suffix.

:class:`SharedPrefixLayout` describes a row; the ``varlen`` attention implementation
(:mod:`expert_kedro.modeling.varlen_attention`) runs it when a forward pass is given
``shared_prefix_layout=<layout>``: PyTorch's FlashAttention variable-length kernel
on CUDA, causal SDPA per segment elsewhere (the reference the tests compare with).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

LAYOUT_KWARG = "shared_prefix_layout"


@dataclass
class SharedPrefixLayout:
    """Segments of a packed row of prefixes, each followed by its suffixes.

    Attributes:
        cu_seq_q: ``int32`` cumulative query segment bounds (row order).
        cu_seq_k: ``int32`` cumulative key segment bounds (in ``key_index``).
        key_index: Row positions of every segment's keys, segment after segment.
        max_q: Longest query segment.
        max_k: Longest key segment.
        positions: RoPE position of each row token (a suffix continues its prefix).
        last_tokens: Row position of each suffix's last token, suffix order.
        attention_calls: Attention layers that ran this layout (0 after a forward
            pass: the model's attention ignored it, and its outputs mix prompts).
    """

    cu_seq_q: torch.Tensor
    cu_seq_k: torch.Tensor
    key_index: torch.Tensor
    max_q: int
    max_k: int
    positions: torch.Tensor
    last_tokens: torch.Tensor
    attention_calls: int = field(default=0, compare=False)

    @property
    def row_length(self) -> int:
        """Tokens in the packed row."""
        return int(self.positions.numel())

    @classmethod
    def build(
        cls,
        groups: Sequence[tuple[int, Sequence[int]]],
        device: torch.device | str = "cpu",
    ) -> SharedPrefixLayout:
        """The layout of groups ``(prefix_length, suffix_lengths)`` packed in order.

        Args:
            groups: Per group, its prefix's token count (0: no shared prefix) and
                the token count of each of its suffixes (each at least 1).
            device: Where the index tensors go (the model's device).

        Raises:
            ValueError: For a group without suffixes or an empty suffix.
        """
        q_bounds, k_bounds, keys, positions, last = [0], [0], [], [], []
        offset = 0
        for prefix, suffixes in groups:
            if not suffixes or min(suffixes) < 1:
                raise ValueError("Every group needs suffixes of at least one token.")
            prefix_keys = np.arange(offset, offset + prefix)
            if prefix:
                q_bounds.append(q_bounds[-1] + prefix)
                k_bounds.append(k_bounds[-1] + prefix)
                keys.append(prefix_keys)
                positions.append(np.arange(prefix))
            offset += prefix
            for length in suffixes:
                q_bounds.append(q_bounds[-1] + length)
                k_bounds.append(k_bounds[-1] + prefix + length)
                keys += [prefix_keys, np.arange(offset, offset + length)]
                positions.append(np.arange(prefix, prefix + length))
                offset += length
                last.append(offset - 1)
        q_sizes, k_sizes = np.diff(q_bounds), np.diff(k_bounds)

        def tensor(values: object, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.asarray(values), dtype=dtype).to(device)

        return cls(
            cu_seq_q=tensor(q_bounds, torch.int32),
            cu_seq_k=tensor(k_bounds, torch.int32),
            key_index=tensor(np.concatenate(keys), torch.long),
            max_q=int(q_sizes.max()),
            max_k=int(k_sizes.max()),
            positions=tensor(np.concatenate(positions), torch.long),
            last_tokens=tensor(last, torch.long),
        )


def reference_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: SharedPrefixLayout,
    scaling: float | None,
) -> torch.Tensor:
    """Per-segment SDPA with a last-key-aligned causal mask (CPU path, tests).

    Args:
        query: ``(1, heads, tokens, head_dim)``.
        key: ``(1, kv_heads, tokens, head_dim)``.
        value: Same shape as ``key``.
        layout: The row's segments.
        scaling: Softmax scale.

    Returns:
        ``(1, tokens, heads, head_dim)``, the attention interface's layout.
    """
    groups = query.shape[1] // key.shape[1]
    q_bounds = layout.cu_seq_q.tolist()
    k_bounds = layout.cu_seq_k.tolist()
    key_index = layout.key_index.to(key.device)
    outputs = []
    for q0, q1, k0, k1 in zip(
        q_bounds[:-1], q_bounds[1:], k_bounds[:-1], k_bounds[1:], strict=True
    ):
        index = key_index[k0:k1]
        k = key[:, :, index].repeat_interleave(groups, dim=1)
        v = value[:, :, index].repeat_interleave(groups, dim=1)
        q_len, k_len = q1 - q0, k1 - k0
        rows = torch.arange(q_len, device=query.device)[:, None] + (k_len - q_len)
        mask = rows >= torch.arange(k_len, device=query.device)[None, :]
        outputs.append(
            F.scaled_dot_product_attention(
                query[:, :, q0:q1], k, v, attn_mask=mask, scale=scaling
            )
        )
    return torch.cat(outputs, dim=2).transpose(1, 2).contiguous()


def gather_keys(
    key: torch.Tensor, value: torch.Tensor, layout: SharedPrefixLayout
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys and values in the kernel's packed ``(keys, kv_heads, head_dim)`` layout,
    each segment's prefix repeated in front of its suffix."""
    k = key[0].transpose(0, 1).index_select(0, layout.key_index)
    v = value[0].transpose(0, 1).index_select(0, layout.key_index)
    return k, v
