"""train_lora: an interrupted run (SIGKILL after a checkpoint) resumes to the end."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = """
import json, sys, time
from transformers import TrainerCallback
from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
from expert_kedro.modeling.tokenization import tokenize_pairs
from expert_kedro.modeling.training import train_lora
from tests.model_fixtures import pairs_frame

model_dir, checkpoint_dir, resume, slow = sys.argv[1:5]

class Slow(TrainerCallback):
    # Keeps the first run alive long enough to be killed after a checkpoint.
    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(float(slow))

tokenizer = load_tokenizer(model_dir)
data = tokenize_pairs(pairs_frame(12), tokenizer, max_length=64)
result = train_lora(
    load_base_model(model_dir),
    tokenizer,
    data,
    data.select(range(2)),
    lora={"r": 4, "alpha": 8, "dropout": 0.0},
    training={
        "max_steps": 8, "per_device_train_batch_size": 2, "learning_rate": 1e-3,
        "save_steps": 2, "eval_steps": 4, "checkpoint_dir": checkpoint_dir,
        "resume_from_checkpoint": resume == "true", "save_total_limit": 10,
    },
    seed=3,
    callbacks=[Slow()],
)
print("HISTORY " + json.dumps(result.history))
"""


def _run(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(cwd), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_killed_run_resumes_from_latest_checkpoint(tiny_model: Path, tmp_path: Path):
    repo = Path(__file__).resolve().parents[2]
    checkpoints = tmp_path / "checkpoints"
    first = _run([str(tiny_model), str(checkpoints), "false", "1.0"], repo)
    deadline = time.monotonic() + 240
    while not any(checkpoints.glob("checkpoint-*/trainer_state.json")):
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint written in time"
        time.sleep(0.2)
    time.sleep(0.5)  # let the checkpoint folder finish writing
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    done = sorted(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*"))
    assert done and max(done) < 8, done

    second = _run([str(tiny_model), str(checkpoints), "true", "0"], repo)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output[-3000:]
    history = json.loads(output.split("HISTORY ", 1)[1].splitlines()[0])
    assert history["resumed_from"].endswith(f"checkpoint-{max(done)}")
    assert history["global_step"] == 8
    # The checkpoint carries the first run's log: the history covers every step,
    # from the step-0 validation loss of the killed run to the end.
    assert [s["step"] for s in history["steps"]] == list(range(1, 9))
    assert history["eval"][0]["step"] == 0
    assert history["eval"][-1]["step"] == 8


def test_padding_free_batches_match_padded_ones(tiny_model: Path):
    """Padding-free packing (GPU recipe) gives the padded loss with sdpa attention.

    trl's collator concatenates the batch and restarts ``position_ids`` per example;
    transformers turns that into a block-diagonal causal mask when no attention
    mask and no KV cache are passed (as in training), so examples never attend to
    each other.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation="sdpa")
    examples = [
        {
            "input_ids": [1, 5, 6, 7, 8, 9, 10],
            "labels": [-100, -100, -100, 7, 8, 9, 10],
        },
        {"input_ids": [1, 11, 12, 13], "labels": [-100, -100, 12, 13]},
    ]
    losses = []
    for padding_free in (False, True):
        batch = DataCollatorForLanguageModeling(
            pad_token_id=2, padding_free=padding_free
        )(examples)
        keys = ("input_ids", "labels", "attention_mask", "position_ids")
        with torch.no_grad():
            inputs = {k: v for k, v in batch.items() if k in keys}
            losses.append(model(**inputs, use_cache=False).loss.item())
    assert losses[0] == pytest.approx(losses[1], abs=1e-5)


def _train_tiny(
    model_dir: Path, tmp_path: Path, *, examples: int, callbacks=(), **training
):
    """``train_lora`` on the tiny 4-bit model, LoRA r=4, batches of 2.

    The base loads in bf16 even on CPUs that only emulate it (where "auto" picks
    float32), so that every machine trains the dtype mix of the GPU recipe.
    """
    import dataclasses

    from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
    from expert_kedro.modeling.hardware import detect_hardware
    from expert_kedro.modeling.tokenization import tokenize_pairs
    from expert_kedro.modeling.training import train_lora
    from tests.model_fixtures import pairs_frame

    tokenizer = load_tokenizer(str(model_dir))
    bf16_hardware = dataclasses.replace(detect_hardware(), bf16_supported=True)
    model = load_base_model(str(model_dir), hardware=bf16_hardware)
    assert getattr(model, "is_loaded_in_4bit", False)
    return train_lora(
        model,
        tokenizer,
        tokenize_pairs(pairs_frame(examples), tokenizer, max_length=64),
        None,
        lora={"r": 4, "alpha": 8, "dropout": 0.0},
        training={
            "per_device_train_batch_size": 2,
            "save_steps": 100,
            "checkpoint_dir": str(tmp_path / "ckpt"),
            **training,
        },
        seed=3,
        callbacks=list(callbacks),
    )


@pytest.mark.parametrize("upcast", [True, False])
def test_upcast_frozen_controls_dtype_of_frozen_parts(
    tiny_model: Path, tmp_path: Path, upcast: bool
):
    """``upcast_frozen: false`` keeps the 4-bit base's norms/embeddings in bf16.

    peft's ``prepare_model_for_kbit_training`` casts them to float32 (the default);
    the GPU lever leaves them in the load dtype. Either way only LoRA trains and
    the loss stays finite.
    """
    import torch

    result = _train_tiny(
        tiny_model, tmp_path, examples=4, max_steps=2, upcast_frozen=upcast
    )
    peft_model = result.model
    norm = peft_model.get_base_model().model.norm.weight
    embed = peft_model.get_base_model().get_input_embeddings().weight
    expected = torch.float32 if upcast else torch.bfloat16
    assert norm.dtype == expected and embed.dtype == expected
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    losses = [step["loss"] for step in result.history["steps"]]
    assert losses and all(math.isfinite(loss) and loss < 1e4 for loss in losses)


def test_profile_callback_of_the_benchmark_writes_an_operator_table(
    tiny_model: Path, tmp_path: Path
):
    """benchmarks/profile_steps.py (``train_throughput.py --profile``) on CPU."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from profile_steps import ProfileSteps

    callback = ProfileSteps(tmp_path, "tiny ours", warmup=1, steps=2)
    result = _train_tiny(
        tiny_model, tmp_path, examples=8, callbacks=[callback], max_steps=10
    )
    assert result.history["global_step"] == 3  # stops after the profiled steps
    text = (tmp_path / "train_profile_tiny_ours.txt").read_text()
    summary = json.loads(text.splitlines()[0])
    assert summary["steps"] == 2
    assert 0 < summary["self_cpu_s_per_step"] and 0 < summary["wall_s_per_step"]
    assert "aten::" in text
