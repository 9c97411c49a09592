"""Does the saved adapter rank validation agendas as the training run measured?

During training the ranking validation (``modeling.ranking_validation``) ranks the
validation agendas' candidates with the model in memory; ``evaluation_llm`` ranks the
same agendas with the saved adapter loaded by ``recommender.adapters.load_scorer``.
Their LLM-alone MRR (fusion weight 0) should agree. This script ranks the
validation agendas of a trained project several ways and reports each MRR, so that a
disagreement can be put on the weights or on the scoring path:

* ``evaluation``: exactly ``evaluation_llm``'s scorer and ranker;
* ``evaluation_no_fused_kernels``: the same with ``recommender.fused_kernels`` off;
* ``evaluation_padded``, ``evaluation_shared_prefix``: the same without fused
  kernels and without packing, each prompt padded whole or its agenda prefix shared
  (``recommender.packing`` / ``share_prefix``), to separate the layout from the
  kernels;
* ``callback_evaluation_model``, ``callback_evaluation_no_fused_kernels_model``:
  the training callback's scorer on the model each of the two loaded;
* ``callback_inference_load``: the training callback's scorer on the model loaded by
  ``modeling.base_model.load_model_for_inference`` (the loader ``load_scorer``
  calls) without fused kernels;
* ``callback_training_load``: the training callback's scorer on the base model loaded
  as training loads it (its attention implementation, no fused kernels) with the
  saved adapter;
* ``callback_checkpoint``: the same with the selected checkpoint's adapter folder
  (the ``best_checkpoint`` of the training history), when it still exists.

Liger's RoPE kernel replaces a module-level function for the whole process, so the
variants loaded after ``evaluation`` keep it when the fused kernels are on: pass
``recommender.fused_kernels=false`` to compare without any fused kernel.

``--variants`` runs only the named ones. Run from the project root after
``kedro run --pipelines=training``::

    python benchmarks/rerank_consistency.py --env stackexchange+gpu \
        --params stackexchange.site=dba --out /tmp/rerank_consistency.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("rerank_consistency")


def _mrr(ranker: Any, scored: Any, acceptable: list[list[str]]) -> dict[str, float]:
    from expert_kedro.evaluation.metrics import per_project_metrics  # noqa: PLC0415

    ranked = ranker.with_weight(0.0).rank_scored(scored)
    means = per_project_metrics([ids for ids, _ in ranked], acceptable)
    return {m: round(float(means[m].mean()), 6) for m in ("hit@1", "mrr")}


def main(argv: list[str] | None = None) -> None:  # noqa: PLR0914, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default=None)
    parser.add_argument("--params", default="", help="k=v,k=v runtime parameters")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--max-agendas", type=int, default=None, help="smoke tests")
    parser.add_argument(
        "--variants", nargs="+", default=None, help="names to run (default: all)"
    )
    args = parser.parse_args(argv)
    chosen = set(args.variants) if args.variants else None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from peft import PeftModel  # noqa: PLC0415

    from expert_kedro.identifiers import as_id, as_id_list  # noqa: PLC0415
    from expert_kedro.modeling.base_model import (  # noqa: PLC0415
        load_base_model,
        load_model_for_inference,
        load_tokenizer,
    )
    from expert_kedro.modeling.ranking_validation import (  # noqa: PLC0415
        ValidationRanking,
        ranking_callback,
        validation_sample,
    )
    from expert_kedro.modeling.settings import ModelTrainingSettings  # noqa: PLC0415
    from expert_kedro.modeling.varlen_attention import VARLEN  # noqa: PLC0415
    from expert_kedro.recommender.adapters import load_scorer  # noqa: PLC0415
    from expert_kedro.recommender.grounding import Roster  # noqa: PLC0415
    from expert_kedro.recommender.service import build_ranker  # noqa: PLC0415
    from expert_kedro.recommender.settings import (  # noqa: PLC0415
        RecommenderSettings,
    )

    # Values are YAML, as on `kedro run --params` ("false" is a boolean).
    runtime = {
        key: yaml.safe_load(value)
        for key, value in (kv.split("=", 1) for kv in args.params.split(",") if kv)
    }
    root = args.project.resolve()
    bootstrap_project(root)
    with KedroSession.create(
        project_path=root, env=args.env, runtime_params=runtime
    ) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.config_loader["parameters"]
        settings = RecommenderSettings.from_params(params["recommender"])
        training = ModelTrainingSettings.from_params(params["model_training"])
        load = catalog.load
        base, adapter = load("base_model"), load("lora_adapter")
        index, roster = load("retrieval_index"), load("expert_roster")
        train_pairs = load("train_pairs")
        history = load("training_history")
        projects = validation_sample(
            load("validation_projects"), args.max_agendas, training.seed
        )
    agendas = [list(a) for a in projects["agenda"]]
    cases = [as_id(p) for p in projects["project_id"]]
    acceptable = [as_id_list(ids) for ids in projects["acceptable_expert_ids"]]
    data = ValidationRanking(projects, roster, index, train_pairs)
    results: dict[str, Any] = {
        "projects": len(projects),
        "adapter_version": adapter.version,
        "training_selection": history.get("selection"),
        "training_rank_evals": [
            {k: v for k, v in e.items() if k == "step" or k.startswith("eval_rank")}
            for e in history.get("eval", [])
        ],
    }

    def callback_mrr(model: Any, tokenizer: Any) -> dict[str, float]:
        callback = ranking_callback(
            data,
            tokenizer,
            settings,
            prompt_style=training.tokenization.prompt_style,
            packed_attention=training.attn_implementation == VARLEN,
        )
        metrics = callback.rank_metrics(model)
        return {k.removeprefix("eval_rank_"): round(v, 6) for k, v in metrics.items()}

    def timed(name: str, fn: Any) -> None:
        if chosen is not None and name not in chosen:
            return
        started = time.perf_counter()
        try:
            results[name] = {**fn(), "seconds": round(time.perf_counter() - started, 1)}
        except Exception as exc:  # noqa: BLE001 - report and go on
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
        logger.info("%s: %s", name, results[name])
        args.out.write_text(json.dumps(results, indent=2, default=str))

    for name, variant in (
        ("evaluation", settings),
        ("evaluation_no_fused_kernels", replace(settings, fused_kernels=False)),
        (
            "evaluation_padded",
            replace(settings, fused_kernels=False, packing=False, share_prefix=False),
        ),
        (
            "evaluation_shared_prefix",
            replace(settings, fused_kernels=False, packing=False, share_prefix=True),
        ),
    ):
        if chosen is not None and not {name, f"callback_{name}_model"} & chosen:
            continue
        scorer = load_scorer(base, adapter, variant)
        ranker = build_ranker(
            variant, scorer, Roster(roster), retriever=index, train_pairs=train_pairs
        )
        timed(
            name,
            lambda r=ranker, batch=variant.agenda_batch: _mrr(
                r, r.score_candidates(agendas, cases, agenda_batch=batch), acceptable
            ),
        )
        if not name.startswith(("evaluation_padded", "evaluation_shared")):
            timed(
                f"callback_{name}_model",
                lambda s=scorer: callback_mrr(s.model, s.tokenizer),
            )
        del scorer, ranker

    def training_load(folder: str) -> dict[str, float]:
        model = load_base_model(
            base,
            training.quantization,
            attn_implementation=training.attn_implementation,
        )
        model = PeftModel.from_pretrained(model, folder)
        # The tokenizer training used.
        return callback_mrr(model, load_tokenizer(base))

    def inference_load() -> dict[str, float]:
        quantization = {"load_in_4bit": True, "compute_dtype": settings.compute_dtype}
        model, tokenizer = load_model_for_inference(base, adapter, quantization)
        return callback_mrr(model, tokenizer)

    timed("callback_inference_load", inference_load)
    timed("callback_training_load", lambda: training_load(str(adapter.path)))
    best = (history.get("selection") or {}).get("best_checkpoint")
    if chosen is not None and "callback_checkpoint" not in chosen:
        pass
    elif best and (root / best).is_dir():
        timed("callback_checkpoint", lambda: training_load(str(root / best)))
    else:
        results["callback_checkpoint"] = {"error": f"no checkpoint folder {best}"}
    args.out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
