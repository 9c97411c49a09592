"""The seed notebook's plain Hugging Face QLoRA recipe, kept as the baseline.

``transformers.Trainer``; every example padded to a fixed max length; loss on every
(non-pad) token; gradient checkpointing; ``paged_adamw_8bit``; LoRA r=16 on all
linear layers of the same 4-bit NF4 base that our pipeline loads.
"""

from __future__ import annotations

import time
from typing import Any

import torch


def run_seed_recipe(
    model_path: str,
    examples: list[dict[str, list[int]]],
    *,
    pad_id: int,
    max_length: int = 512,
    batch_size: int = 4,
    max_steps: int = -1,
    output_dir: str = "/tmp/seed-recipe",
) -> dict[str, Any]:
    """Train one epoch (or ``max_steps``) with the seed recipe and measure it."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import Trainer, TrainingArguments

    from expert_kedro.modeling.base_model import load_base_model
    from expert_kedro.modeling.training_history import HistoryCallback

    start = time.perf_counter()
    model = load_base_model(model_path)
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.05,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    rows = []
    for ex in examples:
        ids = ex["input_ids"][:max_length]
        pad = max_length - len(ids)
        rows.append(
            {
                "input_ids": ids + [pad_id] * pad,
                "attention_mask": [1] * len(ids) + [0] * pad,
            }
        )

    def collate(batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        input_ids = torch.tensor([b["input_ids"] for b in batch])
        attention_mask = torch.tensor([b["attention_mask"] for b in batch])
        labels = input_ids.masked_fill(attention_mask == 0, -100)
        out = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
        }
        return out

    args = TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=1,
        gradient_checkpointing=True,
        optim="paged_adamw_8bit",
        learning_rate=2e-4,
        bf16=True,
        num_train_epochs=1,
        max_steps=max_steps,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        seed=7,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=collate,
    )
    torch.cuda.reset_peak_memory_stats()
    meter = HistoryCallback()
    trainer.add_callback(meter)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    trainer.train()
    torch.cuda.synchronize()
    train_s = time.perf_counter() - start
    steps = trainer.state.global_step
    tokens = meter.tokens_end - meter.tokens_start
    steps_per_epoch = -(-len(rows) // batch_size)
    result = {
        "recipe": "seed",
        "steps": steps,
        "real_tokens": tokens,
        "real_tokens_per_s": tokens / train_s,
        "steps_per_s": steps / train_s,
        "epoch_wall_s": steps_per_epoch * train_s / steps,
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
        "tokens_per_step_incl_padding": batch_size * max_length,
        "train_s": train_s,
        "load_s": load_s,
    }
    del trainer, model
    torch.cuda.empty_cache()
    return result
