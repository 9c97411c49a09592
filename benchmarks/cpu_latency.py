"""Latency of the recommender on this machine (CPU by default), per agenda.

Uses the inference code path (``service.recommend``) on ``data/01_raw/new_agendas.csv``
with the base model plus a freshly initialised LoRA adapter of the training shape
(r=16, all linear layers): adapter values do not change the cost.

    python benchmarks/cpu_latency.py <processed_project_dir> <base_model_dir> [mode]

Also times one 300-token forward pass of the merged model (a reference for how
loaded the machine is) and the same run with a light CPU profile (K=3, no history).
"""

from __future__ import annotations

import glob
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import yaml
from peft import LoraConfig, get_peft_model

from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
from expert_kedro.recommender.agenda_table import parse_agenda_table
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker, recommend
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import build_retrievers
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.settings import PairsSettings


def _latest(project: Path, name: str) -> pd.DataFrame:
    files = glob.glob(str(project / "data" / "*" / name / "*" / "*"))
    return pd.read_parquet(sorted(files)[-1])


def main(project: Path, base: str, mode: str = "rerank") -> None:
    conf = Path("conf/base")
    params = yaml.safe_load((conf / "parameters.yml").read_text())["recommender"]
    settings = RecommenderSettings.from_params({**params, "mode": mode})
    retrieval = yaml.safe_load((conf / "parameters_retrieval.yml").read_text())
    pairs = yaml.safe_load((conf / "parameters_data_processing.yml").read_text())
    roster = _latest(project, "expert_roster.parquet")
    train = _latest(project, "train_pairs.parquet")
    model = load_base_model(base, {"load_in_4bit": False, "compute_dtype": "auto"})
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")
    model = get_peft_model(model, lora).merge_and_unload().eval()
    scorer = LLMScorer(model, load_tokenizer(base), batch_size=settings.batch_size)
    retriever = None
    if mode == "rerank":
        retriever = build_retrievers(
            roster,
            train,
            retrieval["retrieval"],
            validation_projects=_latest(project, "validation_projects.parquet"),
            train_answers=_latest(project, "clean_matches.parquet"),
        )["hybrid"]
    system = PairsSettings.from_params(pairs["pairs"]).system_prompt
    ranker = build_ranker(
        settings,
        scorer,
        Roster(roster),
        retriever=retriever,
        train_pairs=train,
        generative_system=system,
    )
    agendas = parse_agenda_table(pd.read_csv("data/01_raw/new_agendas.csv"))
    recommend(ranker, agendas.head(1), settings)  # warm-up
    reference = _reference_forward(model)
    _, metrics = recommend(ranker, agendas, settings, generative_system=system)
    results = {"default": metrics, "reference_300_token_forward_s": reference}
    if mode == "rerank":
        light = RecommenderSettings.from_params(
            {**params, "candidates": 3, "history_questions": 0}
        )
        light_ranker = build_ranker(light, scorer, Roster(roster), retriever=retriever)
        _, results["light_k3_no_history"] = recommend(light_ranker, agendas, light)
    results["reference_300_token_forward_s_after"] = _reference_forward(model)
    sys.stdout.write(json.dumps(results, indent=1) + "\n")


@torch.inference_mode()
def _reference_forward(model) -> float:
    ids = torch.randint(100, 30000, (1, 300))
    started = time.perf_counter()
    model(input_ids=ids, logits_to_keep=1)
    return round(time.perf_counter() - started, 3)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], *(sys.argv[3:4]))
