"""`kedro run --pipelines=export` through a KedroSession on the tiny trained adapter.

The export folder is then used the way a serving team would: the README's own
snippet runs in a separate Python process in which importing ``expert_kedro``
fails, and its scores of real rerank prompts (project roster, new agendas) must
equal the project's scorer within the bf16 tolerance of
``tests/modeling/test_export.py`` (4 ulps of the larger yes/no logit: both sides
emit bf16 logits, and merge in bf16 vs float32 plus another attention summation
order each move a logit by about one ulp).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from expert_kedro.recommender.adapters import load_scorer
from expert_kedro.recommender.agenda_table import parse_agenda_table
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.rerank_pairs import ExpertHistory, format_rerank_input
from tests.llm_fixtures import GGUF_FILE, TEST_RECOMMENDER, _session
from tests.plain_transformers import ulp

# Prepended to the README snippet: the export must load without this project.
NO_PROJECT = """\
import importlib.abc, sys


class NoProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "expert_kedro":
            raise ImportError("the exported model must load without expert_kedro")


sys.meta_path.insert(0, NoProject())
"""
# Appended: score the request; a forward hook keeps the snippet's last hidden
# states, whose largest yes/no logit sets the bf16 tolerance.
SCORE_REQUEST = """
import json

read = []
model.get_decoder().register_forward_hook(
    lambda module, args, out: read.append(out.last_hidden_state[:, -1])
)
request = json.load(open(sys.argv[1]))
scores = rerank_scores(request["system"], request["users"])
rows = model.get_output_embeddings().weight[[YES, NO]].float()
largest = float((read[-1].float() @ rows.T).abs().max())
project = sorted(m for m in sys.modules if m.split(".")[0] == "expert_kedro")
json.dump({"scores": scores, "largest": largest, "project": project},
          open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def exported(trained_project) -> Path:
    with _session(trained_project.path) as session:
        session.run(pipeline_names=["export"])
    versions = sorted((trained_project.path / "data/06_models/served_model").iterdir())
    assert len(versions) == 1, versions
    return versions[0] / "served_model"


def _rerank_request(project: Path) -> tuple[dict, np.ndarray]:
    """Rerank prompts of the first new agendas x roster experts, and the project's
    scores of them (base model + adapter through ``load_scorer``)."""
    with _session(project) as session:
        context = session.load_context()
        catalog = context.catalog
        settings = RecommenderSettings.from_params(context.params["recommender"])
        roster = catalog.load("expert_roster")
        history = ExpertHistory(catalog.load("train_pairs"))
        agendas = parse_agenda_table(catalog.load("new_agendas"))["agenda"][:2]
        users = [
            format_rerank_input(
                agenda,
                profile,
                history.questions(
                    profile["expert_id"], agenda, settings.history_questions
                ),
                region=settings.candidate_region,
                agenda_region=settings.agenda_region,
            )
            for agenda in agendas
            for profile in roster.head(3).to_dict("records")
        ]
        scorer = load_scorer(
            catalog.load("base_model"), catalog.load("lora_adapter"), settings
        )
        scores = scorer.yes_no_scores(settings.rerank_system_prompt, users)
    return {"system": settings.rerank_system_prompt, "users": users}, scores


def test_export_folder_layout_and_card(trained_project, exported: Path):
    merged, adapter = exported / "merged", exported / "adapter"
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        assert (merged / name).is_file(), name
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (merged / name).is_file(), name
    assert json.loads((merged / "config.json").read_text())["dtype"] == "bfloat16"
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        trained = (trained_project.adapter_dir / name).read_bytes()
        assert (adapter / name).read_bytes() == trained, name
    card = json.loads((exported / "model_card.json").read_text())
    assert card["adapter"]["version"] == trained_project.adapter_version
    assert card["base_model"]["gguf_file"] == GGUF_FILE
    info = json.loads((trained_project.adapter_dir / "training_info.json").read_text())
    assert card["training_info"] == info
    prompt = card["prompt"]
    assert prompt["mode"] == "rerank" and prompt["format"] == "chat_template"
    assert prompt["system_prompt"] == RecommenderSettings().rerank_system_prompt
    layout = prompt["rerank_layout"]
    assert layout["history_questions"] == TEST_RECOMMENDER["history_questions"]
    readme = (exported / "README.md").read_text()
    assert trained_project.adapter_version in readme and "```python" in readme


def test_merged_weights_hold_the_adapter_only_where_it_was_trained(
    trained_project, exported: Path
):
    base_file = trained_project.path / "data/06_models/base_model/model.safetensors"
    layer = "model.layers.0.self_attn"
    with (
        safe_open(base_file, "pt") as base,
        safe_open(exported / "merged/model.safetensors", "pt") as merged,
    ):
        for module, trained in (("q_proj", True), ("k_proj", False)):
            name = f"{layer}.{module}.weight"
            rounded = base.get_tensor(name).to(torch.bfloat16)
            assert torch.equal(merged.get_tensor(name), rounded) != trained, module


def test_readme_snippet_without_the_project_scores_like_the_scorer(
    trained_project, exported: Path, tmp_path: Path
):
    request, project_scores = _rerank_request(trained_project.path)
    (tmp_path / "request.json").write_text(json.dumps(request))
    readme = (exported / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", NO_PROJECT + snippet + SCORE_REQUEST]
        + [str(tmp_path / "request.json"), str(tmp_path / "scores.json")],
        cwd=exported,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    plain = json.loads((tmp_path / "scores.json").read_text())
    assert plain["project"] == []
    tolerance = 4 * ulp(plain["largest"], mantissa_bits=7)
    np.testing.assert_allclose(plain["scores"], project_scores, rtol=0, atol=tolerance)
