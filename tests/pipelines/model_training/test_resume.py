"""A ``kedro run`` killed with SIGKILL and resumed ends as the uninterrupted one does.

Three real ``kedro run --pipelines=model_training`` processes on a project copy whose
base model is the tiny random 4-bit Llama of the fixtures:

1. an uninterrupted run;
2. the same run, killed with ``kill -9`` as soon as ``checkpoint-4`` is complete
   (no callback, no cooperation of the run: the test only watches the folder);
3. ``resume_from_checkpoint=true``, which continues the killed run.

The recipe makes the resume as demanding as it gets: 6 pairs in batches of 2 are
3 steps an epoch, so the resumed step falls in the middle of a later epoch (the
shuffle must not depend on the global RNG's history), the 4-bit base makes
``SFTTrainer`` train the LoRA weights in bfloat16 (peft's reload must not upcast
them), and the validation loss is measured every 4 steps (the resume must not add
an evaluation). On one CPU the two runs compute the same operations in the same
order, so the adapters must be bit-identical; any real drift moves bfloat16
weights by at least one unit in the last place, far above the tolerance. On CPUs
with AVX-512 BF16 this also needs bitsandbytes' in-place weight packing done before
the first step of every run (``modeling.lora.pack_4bit_layout``): otherwise the
uninterrupted run packs at its step-0 evaluation and the resumed one later.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kedro.framework.session import KedroSession
from safetensors.torch import load_file

from tests.conftest import copy_project, make_ranking_inputs
from tests.model_fixtures import pairs_frame

MAX_STEPS = 10
KILL_AFTER = 4
PARAMS = ",".join(
    [
        "model_training.max_train_examples=6",
        "model_training.max_validation_examples=2",
        f"model_training.training.max_steps={MAX_STEPS}",
        "model_training.training.per_device_train_batch_size=2",
        "model_training.training.per_device_eval_batch_size=2",
        "model_training.training.eval_steps=4",
        "model_training.training.save_steps=4",
    ]
)
RESUME = "model_training.training.resume_from_checkpoint=true"


def _kedro(project: Path, params: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "KEDRO_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "kedro", "run", "--pipelines=model_training"]
    return subprocess.Popen(
        [*command, "--params", params],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-4000:]
    return output


def _latest(folder: Path) -> Path:
    return sorted(folder.iterdir())[-1] / folder.name


def _adapter(project: Path) -> dict:
    folder = _latest(project / "data" / "06_models" / "lora_adapter")
    return load_file(folder / "adapter_model.safetensors")


def _history(project: Path) -> dict:
    path = _latest(project / "data" / "08_reporting" / "training_history.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    """A project copy whose base model is the tiny Llama, with 6 + 2 pairs."""
    project = copy_project(tmp_path_factory.mktemp("resume") / "project")
    catalog = {
        "base_model_source": {
            "type": "expert_kedro.datasets.ModelSourceDataset",
            "model": str(tiny_model),
            "package": None,  # soft-merged over base: unset the GGUF source
            "gguf_file": None,
        }
    }
    (project / "conf" / "local" / "catalog.yml").write_text(yaml.safe_dump(catalog))
    make_ranking_inputs(project)  # bootstraps the project
    with KedroSession.create(project_path=project) as session:
        data = session.load_context().catalog
        data.save("training_examples", pairs_frame(6))
        data.save("validation_examples", pairs_frame(2))
    return project


@pytest.fixture(scope="module")
def runs(project: Path) -> dict:
    """Adapters and histories of the uninterrupted and the killed-and-resumed run."""
    _finish(_kedro(project, PARAMS))
    uninterrupted = {"adapter": _adapter(project), "history": _history(project)}

    checkpoints = project / "data" / "06_models" / "checkpoints"
    for old in checkpoints.glob("checkpoint-*/trainer_state.json"):
        old.unlink()  # only the killed run's checkpoints may trigger the kill
    killed = _kedro(project, PARAMS)
    ready = checkpoints / f"checkpoint-{KILL_AFTER}" / "trainer_state.json"
    deadline = time.monotonic() + 600
    while not ready.is_file():
        assert killed.poll() is None, killed.stdout.read()[-4000:]
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    left = sorted(p.name for p in checkpoints.iterdir())

    log = _finish(_kedro(project, f"{PARAMS},{RESUME}"))
    resumed = {"adapter": _adapter(project), "history": _history(project)}
    return {
        "uninterrupted": uninterrupted,
        "resumed": resumed,
        "checkpoints_left": left,
        "log": log,
    }


@pytest.mark.slow
def test_resumed_adapter_equals_the_uninterrupted_one(runs):
    full, resumed = runs["uninterrupted"]["adapter"], runs["resumed"]["adapter"]
    assert full.keys() == resumed.keys()
    assert {t.dtype for t in resumed.values()} == {t.dtype for t in full.values()}
    diff = max((full[k].float() - resumed[k].float()).abs().max() for k in full)
    assert diff.item() < 1e-6, diff.item()


@pytest.mark.slow
def test_resumed_history_is_the_uninterrupted_one(runs):
    full = runs["uninterrupted"]["history"]
    resumed = runs["resumed"]["history"]
    resumed_at = int(resumed["resumed_from"].rsplit("-", 1)[1])
    assert KILL_AFTER <= resumed_at < MAX_STEPS, runs["checkpoints_left"]
    assert full["resumed_from"] is None
    # Losses, gradient norms and learning rates of every step, before and after
    # the resumed step; the validation losses at the same steps (no extra one).
    assert resumed["steps"] == full["steps"]
    assert [e["step"] for e in full["eval"]] == [0, 4, 8, MAX_STEPS]
    assert resumed["eval"] == full["eval"]
    assert resumed["global_step"] == full["global_step"] == MAX_STEPS
