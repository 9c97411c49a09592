"""Compare rerank formulations on validation (GPU; inputs from rerank_stage.py).

For each candidate-history setting (0 = profile only, N = profile + N past training
questions of the candidate), fine-tune a bf16 LoRA (r=16) on the pointwise rerank
examples, then rerank the hybrid retriever's top-K validation/test candidates with
``logit(yes) - logit(no)`` (the product's ``LLMScorer``), tune the fusion weight on
validation (``evaluation.tuning.tune_weight``) and report hit@1/hit@5/MRR.

A plain PyTorch loop is used here (the device image has no trl); the prompt and
loss mask come from ``expert_kedro.modeling.prompts.encode_pair`` like in training.

    python benchmarks/rerank_formulations.py --stage DIR --gguf FILE --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from expert_kedro.evaluation.metrics import per_project_metrics
from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.identifiers import as_id, as_id_list
from expert_kedro.modeling.gguf import dequantize_gguf
from expert_kedro.modeling.handles import ModelSource
from expert_kedro.modeling.prompts import IGNORE_INDEX, encode_pair
from expert_kedro.recommender.fusion import ScoredCandidates, fuse, order_with_tail
from expert_kedro.recommender.grounding import roster_lookup
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.rerank_pairs import ExpertHistory, format_rerank_input


def _batches(examples, batch_size, rng):
    order = rng.permutation(len(examples))
    for start in range(0, len(order), batch_size):
        yield [examples[i] for i in order[start : start + batch_size]]


def train(model, tokenizer, pairs, *, epochs, lr, batch_size, max_length, seed, device):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        task_type="CAUSAL_LM",
    )
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, config)
    examples = [
        encode_pair(tokenizer, s, i, o, max_length=max_length)
        for s, i, o in zip(
            pairs["system"], pairs["input"], pairs["output"], strict=True
        )
    ]
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    steps = epochs * math.ceil(len(examples) / batch_size)
    warmup = max(1, steps // 30)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim,
        lambda s: (
            min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
        ),
    )
    rng = np.random.default_rng(seed)
    pad = (
        tokenizer.pad_token_id
        if tokenizer.pad_token_id is not None
        else tokenizer.eos_token_id
    )
    peft_model.train()
    started, losses = time.perf_counter(), []
    for _ in range(epochs):
        for batch in _batches(examples, batch_size, rng):
            width = max(len(e["input_ids"]) for e in batch)
            ids = torch.full((len(batch), width), pad)
            labels = torch.full((len(batch), width), IGNORE_INDEX)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, e in enumerate(batch):
                n = len(e["input_ids"])
                ids[r, :n] = torch.tensor(e["input_ids"])
                labels[r, :n] = torch.tensor(e["labels"])
                mask[r, :n] = 1
            with torch.autocast(device, dtype=torch.bfloat16):
                out = peft_model(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    labels=labels.to(device),
                )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            losses.append(out.loss.detach())
            if len(losses) % 100 == 1:
                print(
                    f"step {len(losses)}/{steps} loss {float(out.loss):.3f} "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
    losses = [float(x) for x in losses]
    peft_model.eval()
    print(f"trained {steps} steps in {time.perf_counter() - started:.0f} s", flush=True)
    return peft_model, {
        "steps": steps,
        "train_seconds": round(time.perf_counter() - started, 1),
        "loss_first50": float(np.mean(losses[:50])),
        "loss_last50": float(np.mean(losses[-50:])),
    }


def candidate_tables(  # noqa: PLR0917 - experiment helper
    scorer, system, projects, scores, expert_ids, roster, history, n_hist, k_max
):
    tables, tails, latencies = [], [], []
    for questions, row in zip(projects["agenda"], scores, strict=True):
        agenda = list(questions)
        order = np.argsort(-row, kind="stable")
        ranked = [as_id(expert_ids[i]) for i in order]
        chosen = ranked[:k_max]
        users = [
            format_rerank_input(agenda, roster[e], history.questions(e, agenda, n_hist))
            for e in chosen
        ]
        tick = time.perf_counter()
        llm = scorer.yes_no_scores(system, users)
        latencies.append(time.perf_counter() - tick)
        tables.append(
            pd.DataFrame(
                {
                    "expert_id": chosen,
                    "retrieval_score": row[order[:k_max]],
                    "llm_score": llm,
                }
            )
        )
        tails.append(ranked[k_max:])
    p50 = np.median(latencies)
    print(f"scored {len(tables)} projects, p50 {p50:.3f} s", flush=True)
    return tables, tails, latencies


def tune_at_k(cut, acceptable, grid):
    """The fusion weight tuned on candidate tables cut to their first K rows."""
    scored = [
        ScoredCandidates(
            head["expert_id"].tolist(),
            head["retrieval_score"].to_numpy(),
            head["llm_score"].to_numpy(),
            rest,
        )
        for head, rest in cut
    ]
    return tune_weight(
        lambda w: [item.rank(w)[0] for item in scored],
        acceptable,
        grid,
        name="retrieval_weight",
    )


def metrics_at(tables, tails, acceptable, k, weight):
    rankings = []
    for t, tail in zip(tables, tails, strict=True):
        head = t.iloc[:k]
        rest = t["expert_id"].tolist()[k:] + list(tail)
        rankings.append(
            order_with_tail(
                head["expert_id"].tolist(),
                fuse(
                    head["retrieval_score"].to_numpy(),
                    head["llm_score"].to_numpy(),
                    weight,
                ),
                rest,
            )[0]
        )
    return per_project_metrics(rankings, acceptable).mean().round(4).to_dict()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", type=Path, required=True)
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--history", type=int, nargs="+", default=[0, 4])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--k-max", type=int, default=12)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-train", type=int, default=None)
    args = parser.parse_args()
    settings = RecommenderSettings()
    stage = args.stage
    roster_df = pd.read_parquet(stage / "roster.parquet")
    roster = roster_lookup(roster_df)
    history = ExpertHistory(pd.read_parquet(stage / "train_pairs.parquet"))
    expert_ids = np.load(stage / "expert_ids.npy")
    split = {}
    for name in ("validation", "test"):
        projects = pd.read_parquet(stage / f"{name}_projects.parquet")[: args.limit]
        split[name] = (
            projects,
            np.load(stage / f"{name}_hybrid_scores.npy")[: args.limit],
            [as_id_list(a) for a in projects["acceptable_expert_ids"]],
        )
    results = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "epochs": args.epochs,
        "lr": args.lr,
    }
    for name, (projects, scores, acceptable) in split.items():
        results[f"hybrid_{name}"] = metrics_at(
            *candidate_tables_stub(scores, expert_ids, args.k_max),
            acceptable,
            args.k_max,
            1.0,
        )
    for n_hist in args.history:
        model, tokenizer = dequantize_gguf(
            ModelSource(str(args.gguf.parent), args.gguf.name)
        )
        model = model.to(args.device, dtype=torch.bfloat16)
        pairs = pd.read_parquet(stage / f"rerank_train_h{n_hist}.parquet")[: args.limit]
        if args.max_train:
            pairs = pairs.sample(n=min(args.max_train, len(pairs)), random_state=0)
        device = next(model.parameters()).device
        print(f"model on {device}, {len(pairs)} pairs", flush=True)
        peft_model, info = train(
            model,
            tokenizer,
            pairs,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=32,
            max_length=768,
            seed=42,
            device=args.device,
        )
        scorer = LLMScorer(peft_model, tokenizer, max_prompt_tokens=4096, batch_size=16)
        entry = {"train": info, "train_examples": len(pairs)}
        with torch.autocast(args.device, dtype=torch.bfloat16):
            tabs = {
                name: candidate_tables(
                    scorer,
                    settings.rerank_system_prompt,
                    projects,
                    scores,
                    expert_ids,
                    roster,
                    history,
                    n_hist,
                    args.k_max,
                )
                for name, (projects, scores, _) in split.items()
            }
        for k in (5, 8, 12):
            vt, vtails, _ = tabs["validation"]
            vacc = split["validation"][2]
            cut = [
                (t.iloc[:k], t["expert_id"].tolist()[k:] + list(tail))
                for t, tail in zip(vt, vtails)
            ]
            weight, grid = tune_at_k(cut, vacc, list(settings.weight_grid))
            entry[f"K{k}"] = {
                "tuned_retrieval_weight": weight,
                "validation_llm_only": metrics_at(vt, vtails, vacc, k, 0.0),
                "validation_fused": metrics_at(vt, vtails, vacc, k, weight),
                "test_llm_only": metrics_at(
                    *tabs["test"][:2], split["test"][2], k, 0.0
                ),
                "test_fused": metrics_at(
                    *tabs["test"][:2], split["test"][2], k, weight
                ),
            }
        lat = np.array(tabs["validation"][2])
        entry["gpu_latency_12_candidates_p50_s"] = float(np.percentile(lat, 50))
        results[f"history_{n_hist}"] = entry
        print(json.dumps({f"history_{n_hist}": entry}, indent=1), flush=True)
        del peft_model, model
        if args.device == "cuda":
            torch.cuda.empty_cache()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rerank_formulations.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=1))


def candidate_tables_stub(scores, expert_ids, k_max):
    """Retrieval-only tables (LLM score 0) for the hybrid baseline."""
    tables, tails = [], []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        ids = [as_id(expert_ids[i]) for i in order]
        tables.append(
            pd.DataFrame(
                {
                    "expert_id": ids[:k_max],
                    "retrieval_score": row[order[:k_max]],
                    "llm_score": 0.0,
                }
            )
        )
        tails.append(ids[k_max:])
    return tables, tails


if __name__ == "__main__":
    main()
