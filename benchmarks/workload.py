"""Shared pieces of the GPU benchmarks: the workload, the models, the meters.

The workload is the project's own tokenized training examples (their real length
distribution). For the Llama-3-8B architecture the token ids are replaced by random
ids of the same lengths: throughput and memory do not depend on the values, and no
8B weights are reachable here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

LLAMA3_8B = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
    "rope_theta": 500000.0,
    "rms_norm_eps": 1e-5,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "tie_word_embeddings": False,
}
"""Meta-Llama-3-8B's architecture (config.json of the Hub repo)."""


def load_examples(path: str | Path) -> list[dict[str, list[int]]]:
    """Read tokenized training examples.

    Args:
        path: A ``tokenized_train`` version folder (``datasets`` ``save_to_disk``
            layout), or an ``.npz`` written by :func:`pack_examples` (compact enough
            to carry to a GPU machine).

    Returns:
        ``[{"input_ids": [...], "labels": [...]}, ...]`` in dataset order.
    """
    import numpy as np

    path = Path(path)
    if path.suffix == ".npz":
        packed = np.load(path)
        ids, labels = packed["input_ids"].tolist(), packed["labels"].tolist()
        out, start = [], 0
        for n in packed["lengths"].tolist():
            end = start + n
            out.append({"input_ids": ids[start:end], "labels": labels[start:end]})
            start = end
        return out
    from datasets import load_from_disk

    ds = load_from_disk(str(path))
    return [
        {"input_ids": list(r["input_ids"]), "labels": list(r["labels"])} for r in ds
    ]


def pack_examples(folder: str | Path, out: str | Path) -> None:
    """Save a tokenized dataset as one compressed ``.npz`` (ids, labels, lengths)."""
    import numpy as np

    examples = load_examples(folder)
    np.savez_compressed(
        out,
        input_ids=np.concatenate([e["input_ids"] for e in examples]).astype(np.int32),
        labels=np.concatenate([e["labels"] for e in examples]).astype(np.int32),
        lengths=np.array([len(e["input_ids"]) for e in examples], dtype=np.int32),
    )


def randomize_ids(
    examples: list[dict[str, list[int]]], vocab_size: int, seed: int = 0
) -> list[dict[str, list[int]]]:
    """Same lengths and label masks, random token ids (for the 8B architecture)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for ex in examples:
        ids = torch.randint(0, vocab_size, (len(ex["input_ids"]),), generator=gen)
        ids = ids.tolist()
        labels = [
            tok if lab != -100 else -100
            for tok, lab in zip(ids, ex["labels"], strict=True)
        ]
        out.append({"input_ids": ids, "labels": labels})
    return out


def build_random_llama8b(folder: str | Path) -> Path:
    """Save a Llama-3-8B-architecture checkpoint with random bf16 weights.

    The benchmark then loads it with the project's own 4-bit loader, exactly like
    real weights would be loaded.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    config = LlamaConfig(**LLAMA3_8B, torch_dtype="bfloat16")
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, max_shard_size="4GB")
    del model
    torch.cuda.empty_cache()
    return folder


@dataclass
class StepMeter:
    """Real (non-padding) tokens per optimizer step and step end times.

    ``count_batch`` is called by the data collator for every batch it builds, in
    order; ``step_done`` at every optimizer step end. The k-th step consumed the
    k-th batch (x gradient accumulation), so prefetching does not skew the count.
    """

    grad_accum: int = 1
    batch_tokens: list[int] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)

    def count_batch(self, batch: dict[str, Any]) -> None:
        if "attention_mask" in batch:
            n = int(batch["attention_mask"].sum())
        else:  # padding-free: every token in the flattened batch is real
            n = int(batch["input_ids"].numel())
        self.batch_tokens.append(n)

    def step_done(self) -> None:
        torch.cuda.synchronize()
        self.step_times.append(time.perf_counter())

    def summary(self, warmup: int) -> dict[str, float]:
        """Throughput over steps after ``warmup`` (compile/allocator warm-up)."""
        steps = len(self.step_times)
        if steps <= warmup + 1:
            raise RuntimeError(f"only {steps} steps ran; need > {warmup + 1}")
        per_step = [
            sum(self.batch_tokens[i * self.grad_accum : (i + 1) * self.grad_accum])
            for i in range(steps)
        ]
        elapsed = self.step_times[-1] - self.step_times[warmup]
        tokens = sum(per_step[warmup + 1 :])
        return {
            "steps_measured": steps - warmup - 1,
            "real_tokens_per_s": tokens / elapsed,
            "steps_per_s": (steps - warmup - 1) / elapsed,
            "real_tokens_per_step": tokens / (steps - warmup - 1),
        }


def write_results(results: list[dict[str, Any]], out: Path, title: str) -> None:
    """Write results as JSON and a markdown table (with ours/seed ratios)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{title}.json").write_text(json.dumps(results, indent=2))
    keys = [k for k in results[0] if k not in {"notes"}]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in results:
        cells = []
        for k in keys:
            v = row.get(k, "")
            cells.append(f"{v:,.3g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    (out / f"{title}.md").write_text("\n".join(lines) + "\n")
