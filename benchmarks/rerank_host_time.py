"""Host time of one batched rerank call: where a 64-agenda batch spends its seconds.

On an H200 one ``RerankRanker.rank_many_with_scores`` call over 64 agendas took
~0.6 s while the model's forward pass over its 320 prompts is ~0.05 s of GPU work:
the rest is host-side Python. This script times that call on CPU with a tiny random
Llama (SmolLM2's tokenizer, the benchmark's workload and ranker: see
``inference_throughput.py``), subtracts the model's forward pass, and splits the
remaining host time by stage. Run from the project root::

    python benchmarks/rerank_host_time.py [--share-prefix] [--hybrid] [--batches 8]

Every timed batch holds agendas the ranker has not seen (real agendas first, then
the same ones with a batch tag on each question), as when new agendas stream in;
the first batch is a warm-up. ``--hybrid`` adds the MiniLM dense half of the
retriever (the inference pipeline's ``candidate_retriever``; slower to build).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, "src")

import numpy as np  # noqa: E402


def batches(agendas: list[list[str]], size: int, count: int) -> list[list[list[str]]]:
    """``count`` batches of ``size`` agendas, no agenda text seen twice."""
    out = []
    for b in range(count):
        start = b * size
        rows = [agendas[(start + i) % len(agendas)] for i in range(size)]
        if start + size > len(agendas):
            rows = [[f"{q} (batch {b})" for q in agenda] for agenda in rows]
        out.append(rows)
    return out


def timer(totals: dict[str, float], label: str, fn: Callable) -> Callable:
    """``fn`` whose time is added to ``totals[label]``."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started

    return timed


def hybrid_retriever(workload: Any) -> Any:
    """The pipeline's hybrid retriever (BM25 + MiniLM, z-score fusion)."""
    from expert_kedro.retrieval.bm25 import BM25Retriever
    from expert_kedro.retrieval.dense import DenseRetriever
    from expert_kedro.retrieval.encoder import SentenceEncoder
    from expert_kedro.retrieval.expert_documents import build_expert_documents
    from expert_kedro.retrieval.hybrid import HybridRetriever

    documents = build_expert_documents(workload.roster_frame, workload.train_pairs)
    return HybridRetriever(
        BM25Retriever().fit(documents),
        DenseRetriever(SentenceEncoder()).fit(documents),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agendas", type=int, default=64, help="agendas per batch")
    parser.add_argument("--batches", type=int, default=8, help="timed batches")
    parser.add_argument("--share-prefix", action="store_true")
    parser.add_argument("--hybrid", action="store_true")
    parser.add_argument(
        "--tokenizer",
        default="data/06_models/base_model",
        help="SmolLM2 folder to take the tokenizer from (default: the GGUF's)",
    )
    args = parser.parse_args()
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import inference_throughput as bench
    import torch

    from expert_kedro.modeling.base_model import load_tokenizer
    from expert_kedro.recommender import rerank
    from expert_kedro.scoring import prompt_cache, suffix_batches
    from expert_kedro.scoring import scorer as scorer_module

    torch.manual_seed(0)
    workload = bench.build_workload(10_000)
    if args.hybrid:
        workload.retriever = hybrid_retriever(workload)
    scratch = tempfile.TemporaryDirectory()
    tokenizer = args.tokenizer if Path(args.tokenizer).is_dir() else None
    path = bench.build_tiny_llama(Path(scratch.name) / "tiny", tokenizer)
    model = bench.load_with_lora(path, "fp32").merge_and_unload().eval()
    scorer = scorer_module.LLMScorer(model=model, tokenizer=load_tokenizer(path))
    # All of a batch's candidates in one forward pass, as conf/gpu's agenda_batch.
    ranker, settings = bench.make_ranker(
        "rerank", scorer, workload, 5 * args.agendas, args.agendas
    )
    scorer.share_prefix = args.share_prefix
    totals: dict[str, float] = defaultdict(float)
    stages: list[tuple[Any, str, str]] = [
        (model.model, "forward", "model forward"),
        (model.lm_head, "forward", "model forward"),
        (ranker.retriever, "score_all", "retrieval score_all"),
        (ranker, "candidate_input", "prompt text (candidate_input)"),
        (scorer_module, "encode_prompts", "tokenization"),
        (prompt_cache.PromptEncoder, "encode", "tokenization"),
        (suffix_batches, "batch_inputs", "padding/collation (batch_inputs)"),
        (rerank.pd, "DataFrame", "pandas DataFrames"),
    ]
    for owner, name, label in stages:
        if owner is not None and hasattr(owner, name):
            setattr(owner, name, timer(totals, label, getattr(owner, name)))
    pool = [list(a) for a in workload.agendas["agenda"]]
    walls, rows = [], []
    for b, agendas in enumerate(batches(pool, args.agendas, args.batches + 1)):
        totals.clear()
        cases = [f"b{b}-{i}" for i in range(len(agendas))]
        started = time.perf_counter()
        ranker.rank_many_with_scores(agendas, settings.top_k, cases)
        if b:  # the first batch is a warm-up
            walls.append(time.perf_counter() - started)
            rows.append(dict(totals))
    forward = np.array([r.get("model forward", 0.0) for r in rows])
    host = np.array(walls) - forward
    print(
        f"{args.agendas} agendas x K={settings.candidates}, batch_size "
        f"{settings.batch_size}, share_prefix={args.share_prefix}, retriever "
        f"{type(ranker.retriever).__name__}, {len(walls)} timed batches (median ms)"
    )
    print(f"  {'wall':36s} {np.median(walls) * 1e3:8.1f}")
    print(f"  {'model forward':36s} {np.median(forward) * 1e3:8.1f}")
    print(f"  {'host (wall - forward)':36s} {np.median(host) * 1e3:8.1f}")
    labels = dict.fromkeys(label for _, _, label in stages[2:])
    named = np.zeros(len(rows))
    for label in labels:
        values = np.array([r.get(label, 0.0) for r in rows])
        named += values
        print(f"    {label:34s} {np.median(values) * 1e3:8.1f}")
    print(f"    {'other host work':34s} {np.median(host - named) * 1e3:8.1f}")


if __name__ == "__main__":
    main()
