"""GPU training benchmark: the seed's plain HF QLoRA recipe vs ours, side by side.

Run on a CUDA machine from the project root (see README "GPU benchmark")::

    python benchmarks/train_throughput.py \
        --examples data/05_model_input/tokenized_train \
        --smollm2 data/06_models/base_model --out benchmarks/results

Both recipes train the same 4-bit NF4 base with LoRA r=16 on all linear layers, on
the project's tokenized training examples, one after the other in one process.
SmolLM2-135M runs a full epoch; the Llama-3-8B architecture (random weights built
from its config) runs ``--steps-8b`` optimizer steps of each recipe, and the epoch
time is extrapolated from the measured step rate. Writes ``train_throughput.json``
and ``train_throughput.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from ours_recipe import _merge, run_our_recipe  # noqa: E402
from profile_steps import ProfileSteps  # noqa: E402
from seed_recipe import run_seed_recipe  # noqa: E402
from workload import (  # noqa: E402
    LLAMA3_8B,
    build_random_llama8b,
    load_examples,
    randomize_ids,
    write_results,
)

LEVERS = {
    "ours": {},
    "ours+sdpa(block mask)": {"attn_implementation": "sdpa"},
    "ours+grad_ckpt": {"training": {"gradient_checkpointing": True}},
    "ours-padding_free(grouped padding)": {"training": {"padding_free": False}},
    "ours+paged_adamw_8bit": {"training": {"optim": "paged_adamw_8bit"}},
    # transformers' TrainingArguments.torch_compile (inductor, dynamic shapes: the
    # padding-free rows change length every step).
    "ours+torch_compile": {"training": {"torch_compile": True}},
    # Same examples per step as the seed (4), with and without gradient
    # checkpointing: the equal-tokens-per-step memory check.
    "ours@batch4": {
        "training": {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 1}
    },
    "ours+grad_ckpt@batch4": {
        "training": {
            "per_device_train_batch_size": 4,
            "gradient_accumulation_steps": 1,
            "gradient_checkpointing": True,
        }
    },
    # Frozen norms, embeddings and head kept in bf16 (peft upcasts them to fp32).
    "ours-upcast": {"training": {"upcast_frozen": False}},
    "ours+liger": {"training": {"use_liger_kernel": True}},
    "ours-upcast+liger": {
        "training": {"upcast_frozen": False, "use_liger_kernel": True}
    },
    "ours-upcast@batch256": {
        "training": {"upcast_frozen": False, "per_device_train_batch_size": 256}
    },
    "ours-upcast@batch32": {
        "training": {"upcast_frozen": False, "per_device_train_batch_size": 32}
    },
    "ours-upcast+liger@batch32": {
        "training": {
            "upcast_frozen": False,
            "per_device_train_batch_size": 32,
            "use_liger_kernel": True,
        }
    },
    "ours-upcast+grad_ckpt@batch4": {
        "training": {
            "upcast_frozen": False,
            "per_device_train_batch_size": 4,
            "gradient_accumulation_steps": 1,
            "gradient_checkpointing": True,
        }
    },
}
# Every 8B load re-quantizes 16 GB of weights: fewer variants there.
LEVERS_8B = ["ours", "ours+sdpa(block mask)", "ours+grad_ckpt@batch4"]


def _ratios(rows: list[dict], model: str) -> None:
    seed = next(r for r in rows if r["model"] == model and r["recipe"] == "seed")
    for row in rows:
        if row["model"] != model or "error" in row:
            continue
        speed = row["real_tokens_per_s"] / seed["real_tokens_per_s"]
        row["tokens_per_s_vs_seed"] = speed
        row["steps_per_s_vs_seed"] = row["steps_per_s"] / seed["steps_per_s"]
        row["epoch_time_vs_seed"] = row["epoch_wall_s"] / seed["epoch_wall_s"]
        row["peak_mem_vs_seed"] = row["peak_mem_gib"] / seed["peak_mem_gib"]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", required=True, help="tokenized_train folder")
    parser.add_argument("--smollm2", help="prepared SmolLM2 HF folder (base_model)")
    parser.add_argument(
        "--tokenizer", help="tokenizer folder (default: the --smollm2 folder)"
    )
    parser.add_argument("--llama8b", help="folder for the random Llama-3-8B weights")
    parser.add_argument("--steps-8b", type=int, default=30)
    parser.add_argument("--batch-8b", type=int, default=8)
    parser.add_argument(
        "--steps-small", type=int, default=-1, help="SmolLM2 steps (-1: one epoch)"
    )
    parser.add_argument(
        "--seed-steps-small",
        type=int,
        default=300,
        help="SmolLM2 steps of the seed recipe (-1: one epoch; its epoch time is "
        "extrapolated from the measured step rate otherwise)",
    )
    parser.add_argument("--levers", nargs="*", default=list(LEVERS))
    parser.add_argument("--levers-8b", nargs="*", default=LEVERS_8B)
    parser.add_argument(
        "--profile",
        nargs="*",
        default=[],
        help="levers to profile (torch.profiler, a few steps) before the levers run",
    )
    parser.add_argument("--skip-seed", action="store_true", help="levers only")
    parser.add_argument("--seed-max-length", type=int, default=512)
    parser.add_argument("--out", default="benchmarks/results")
    return parser.parse_args()


def main() -> None:
    args = _args()

    from transformers import AutoTokenizer

    examples = load_examples(args.examples)
    tokenizer_path = args.tokenizer or args.smollm2
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = torch.cuda.get_device_name()
    rows: list[dict] = []
    runs = []
    if args.smollm2:
        runs.append(
            (
                "SmolLM2-135M",
                args.smollm2,
                examples,
                (args.seed_steps_small, args.steps_small),
                {},
                args.levers,
            )
        )
    if args.llama8b:
        path = str(build_random_llama8b(args.llama8b))
        ids = randomize_ids(examples, LLAMA3_8B["vocab_size"])
        # Without gradient checkpointing the 8B activations cost ~7 MB a token: a
        # 64-example batch (~25k tokens) does not fit; --batch-8b examples do.
        big = {"training": {"per_device_train_batch_size": args.batch_8b}}
        steps = (args.steps_8b, args.steps_8b)
        runs.append(("Llama-3-8B-arch", path, ids, steps, big, args.levers_8b))
    out = Path(args.out)
    for model_name, path, data, (seed_steps, steps), base_overrides, levers in runs:
        for lever in args.profile:
            _profile(
                model_name,
                path,
                data,
                tokenizer=tokenizer,
                base_overrides=base_overrides,
                lever=lever,
                out=out,
            )
        if not args.skip_seed:
            seed = run_seed_recipe(
                path,
                data,
                pad_id=tokenizer.pad_token_id,
                max_length=args.seed_max_length,
                max_steps=seed_steps,
            )
            rows.append({"model": model_name, **seed})
            print(json.dumps(rows[-1]), flush=True)
            gc.collect()
        for lever in levers:
            try:
                ours = run_our_recipe(
                    path,
                    data,
                    tokenizer=tokenizer,
                    overrides=_merge(base_overrides, LEVERS[lever]),
                    max_steps=steps,
                    label=lever,
                )
            except Exception as exc:  # noqa: BLE001 - a failed lever is a result
                ours = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
                torch.cuda.empty_cache()
            rows.append({"model": model_name, **ours, "recipe": lever})
            print(json.dumps(rows[-1]), flush=True)
            gc.collect()
            if not args.skip_seed:
                _ratios(rows, model_name)
            # Written after every variant: a run cut short keeps what it measured.
            _write(rows, device, out)


def _profile(
    model_name: str,
    path: str,
    data: list[dict],
    *,
    tokenizer: object,
    base_overrides: dict,
    lever: str,
    out: Path,
) -> None:
    """A few profiled steps of one lever (table in ``train_profile_*.txt``)."""
    try:
        run_our_recipe(
            path,
            data,
            tokenizer=tokenizer,
            overrides=_merge(base_overrides, LEVERS[lever]),
            max_steps=10,
            label=f"profile-{lever}",
            callbacks=[ProfileSteps(out, f"{model_name} {lever}")],
        )
    except Exception as exc:  # noqa: BLE001 - profiling is diagnostic only
        print(f"profile of {lever} failed: {type(exc).__name__}: {exc}", flush=True)
    gc.collect()
    torch.cuda.empty_cache()


def _write(rows: list[dict], device: str, out: Path) -> None:
    table = [
        {**{k: v for k, v in row.items() if k != "overrides"}, "device": device}
        for row in rows
    ]
    write_results(table, out, "train_throughput")


if __name__ == "__main__":
    main()
