"""An evaluation during training leaves the 4-bit weights as training reads them.

On CPUs with AVX-512 BF16, bitsandbytes converts a ``Linear4bit``'s weights in place
the first time it runs in eval mode without gradients (scales rounded to bfloat16);
a run that evaluates before its first step would then train on other weights than a
run resumed from a checkpoint, unless every run converts before its first step
(``modeling.lora.pack_4bit_layout``). On other CPUs bitsandbytes never converts, and
the check below holds without the fix.
"""

from __future__ import annotations

from pathlib import Path

import torch

from expert_kedro.modeling.base_model import load_base_model
from expert_kedro.modeling.lora import prepare_peft_model
from expert_kedro.modeling.settings import LoraSettings
from expert_kedro.modeling.trainer_recipe import TrainingSettings

IDS = torch.arange(3, 83).reshape(2, 40)


def _prepared(model_dir: Path):
    torch.manual_seed(1)
    model = load_base_model(str(model_dir), {"load_in_4bit": True})
    return prepare_peft_model(
        model, LoraSettings.coerce({}), TrainingSettings.coerce({})
    )


def _training_loss(model) -> torch.Tensor:
    model.train()
    return model(input_ids=IDS, labels=IDS).loss


def test_training_after_an_evaluation_reads_the_loaded_weights(tiny_model: Path):
    evaluated = _prepared(tiny_model)
    evaluated.eval()
    with torch.inference_mode():
        evaluated(input_ids=IDS)
    fresh = _prepared(tiny_model)
    assert torch.equal(_training_loss(evaluated), _training_loss(fresh))
