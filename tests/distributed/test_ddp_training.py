"""DDP training through ``kedro run`` under ``accelerate launch``: 2 CPU processes.

The same model_training nodes run once single-process (batch 4) and once as two
gloo processes (batch 2 each, global batch 4), same seed, no dropout, plain
(non-random) data order. The saved adapters must match, only rank 0 may write
(one new version per dataset), and both ranks must read the same tokenized
version. The base is a tiny random float32 Llama loaded with ``load_in_4bit:
false``: bitsandbytes 4-bit on CPU would add minutes and bf16 noise, while the
distributed code path (launcher, hook, DDP wrapping, gloo all-reduce, rank-0
writes) is the same.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_project, make_ranking_inputs

pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is unavailable", allow_module_level=True)

TRAIN_ROWS = 16
STEPS = 3
# Pipeline part that a distributed launch runs (tokenized data prepared before).
RUN_ARGS = [
    "-m",
    "kedro",
    "run",
    "--env",
    "multi_gpu",
    "--pipelines=model_training",
    "--from-nodes=verify_hardware_node",
]


def _tiny_base(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from expert_kedro.datasets import BaseModelDataset
    from expert_kedro.modeling.handles import PreparedBaseModel

    vocab = {"<pad>": 0, "<eos>": 1, **{f"w{i}": i + 2 for i in range(62)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        eos_token_id=1,
        pad_token_id=0,
    )
    BaseModelDataset(filepath=str(folder)).save(
        PreparedBaseModel(
            model=LlamaForCausalLM(config),
            tokenizer=tokenizer,
            source={"name_or_path": "tiny-test-llama"},
        )
    )


def _tokenized(rows: int, seed: int):
    from datasets import Dataset

    generator = torch.Generator().manual_seed(seed)
    records = []
    for _ in range(rows):
        length = int(torch.randint(8, 20, (1,), generator=generator))
        ids = torch.randint(2, 64, (length,), generator=generator).tolist()
        records.append(
            {"input_ids": ids, "labels": [-100] * 4 + ids[4:], "truncated": False}
        )
    return Dataset.from_list(records)


def _save_tokenized(project: Path) -> str:
    from kedro.io import Version

    from expert_kedro.datasets.table_preview import ArrowTableDataset

    root = project / "data/05_model_input"
    # An older, different version first: the runs must all read the latest one.
    stale = ArrowTableDataset(
        path=str(root / "tokenized_train"),
        version=Version(None, "2026-01-01T00.00.00.000Z"),
    )
    stale.save(_tokenized(TRAIN_ROWS, seed=99))
    latest = "2026-01-02T00.00.00.000Z"
    for name, rows, seed in (
        ("tokenized_train", TRAIN_ROWS, 1),
        ("tokenized_validation", 4, 2),
    ):
        ArrowTableDataset(path=str(root / name), version=Version(None, latest)).save(
            _tokenized(rows, seed)
        )
    return latest


def _set_params(project: Path, per_device_batch: int) -> None:
    path = project / "conf/multi_gpu/parameters_model_training.yml"
    params = yaml.safe_load(path.read_text())
    recipe = params["model_training"]
    recipe["quantization"] = {"load_in_4bit": False, "compute_dtype": "float32"}
    recipe["lora"] = {
        "r": 4,
        "alpha": 8,
        "dropout": 0.0,
        "target_modules": "all-linear",
    }
    recipe["training"].update(
        {
            "max_steps": STEPS,
            "per_device_train_batch_size": per_device_batch,
            "per_device_eval_batch_size": 2,
            "gradient_accumulation_steps": 1,
            "learning_rate": 1.0e-2,
            "lr_scheduler_type": "constant",
            "warmup_steps": 0,
            "logging_steps": 1,
            "eval_steps": 100,
            "save_steps": 100,
            "bf16": False,
            "group_by_length": False,
            "checkpoint_dir": str(project / "data/06_models/checkpoints"),
        }
    )
    path.write_text(yaml.safe_dump(params))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(project: Path, command: list[str]) -> str:
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # Wide rich log lines, so the per-rank messages are not wrapped.
        "COLUMNS": "250",
    }
    env.pop("WORLD_SIZE", None)
    done = subprocess.run(
        command,
        check=False,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output


def _versions(project: Path, relative: str) -> list[Path]:
    return sorted((project / relative).iterdir())


def _adapter(version: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(version / "lora_adapter/adapter_model.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = copy_project(tmp_path_factory.mktemp("ddp") / "project")
    make_ranking_inputs(project)
    _tiny_base(project / "data/06_models/base_model")
    latest = _save_tokenized(project)
    python = sys.executable
    started = time.perf_counter()
    _set_params(project, per_device_batch=4)
    single_log = _run(project, [python, *RUN_ARGS])
    single = _versions(project, "data/06_models/lora_adapter")
    _set_params(project, per_device_batch=2)
    # The shipped DDP config: torchrun-style launch; without CUDA the Trainer uses
    # gloo. (accelerate's `--cpu` would start a single process, or need mpirun.)
    ddp_log = _run(
        project,
        [
            *(python, "-m", "accelerate.commands.launch"),
            "--config_file=conf/multi_gpu/accelerate_ddp.yaml",
            "--num_processes=2",
            f"--main_process_port={_free_port()}",
            *RUN_ARGS,
        ],
    )
    print(f"[ddp test] both runs took {time.perf_counter() - started:.0f} s")  # noqa: T201
    return {
        "project": project,
        "latest": latest,
        "single_log": single_log,
        "ddp_log": ddp_log,
        "single_versions": single,
    }


def test_only_rank_zero_writes_one_version(runs: dict):
    project = runs["project"]
    for relative in (
        "data/06_models/lora_adapter",
        "data/08_reporting/training_history.json",
        "data/08_reporting/loss_curve.png",
    ):
        assert len(_versions(project, relative)) == 2, relative  # single + DDP run
    assert "rank 1 keeps lora_adapter in memory" in runs["ddp_log"]


def test_ranks_agree_on_tokenized_version(runs: dict):
    seen = re.findall(
        r"rank (\d) loads (tokenized_train|tokenized_validation) version (\S+)",
        runs["ddp_log"],
    )
    assert sorted(seen) == sorted(
        (rank, name, runs["latest"])
        for rank in "01"
        for name in ("tokenized_train", "tokenized_validation")
    )


def test_ddp_adapter_matches_single_process(runs: dict):
    project = runs["project"]
    (single,) = runs["single_versions"]
    (ddp,) = [
        v for v in _versions(project, "data/06_models/lora_adapter") if v != single
    ]
    histories = _versions(project, "data/08_reporting/training_history.json")
    single_h, ddp_h = (
        json.loads((version / "training_history.json").read_text())
        for version in histories
    )
    assert (single_h["world_size"], ddp_h["world_size"]) == (1, 2)
    assert single_h["global_step"] == ddp_h["global_step"] == STEPS
    single_w, ddp_w = _adapter(single), _adapter(ddp)
    assert single_w.keys() == ddp_w.keys() and single_w
    lora_b = [key for key in single_w if "lora_B" in key]
    # lora_B starts at zero: it must have moved, or the comparison proves nothing.
    assert max(single_w[key].abs().max().item() for key in lora_b) > 1e-3
    for key, tensor in single_w.items():
        torch.testing.assert_close(ddp_w[key], tensor, rtol=1e-4, atol=1e-5, msg=key)
    single_loss = [s["loss"] for s in single_h["steps"]]
    ddp_loss = [s["loss"] for s in ddp_h["steps"]]
    assert ddp_loss == pytest.approx(single_loss, rel=1e-4)
