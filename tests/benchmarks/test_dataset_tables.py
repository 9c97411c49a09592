"""benchmarks/dataset_tables.py: one table per dataset from saved metrics files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _entry(value: float) -> dict[str, dict[str, float]]:
    cell = {"value": value, "ci_low": value - 0.05, "ci_high": value + 0.05}
    return {"hit@1": cell, "hit@5": cell, "mrr": cell, "ndcg@5": cell}


def _metrics(mrr: dict[str, float], machine: str) -> dict:
    return {
        "systems": {name: {"full": _entry(v)} for name, v in mrr.items()},
        "n_projects": {"test": 40},
        "date": "2026-12-04T00:00:00+00:00",
        "machine": {"description": machine},
    }


def _run(tmp_path: Path, manifest: dict) -> subprocess.CompletedProcess:
    (tmp_path / "manifest.yml").write_text(yaml.safe_dump(manifest))
    command = [sys.executable, "benchmarks/dataset_tables.py"]
    command += ["--manifest", str(tmp_path / "manifest.yml")]
    command += ["--results", str(tmp_path), "--out", str(tmp_path / "page.md")]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": ""}
    return subprocess.run(
        command, check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_page_has_both_recipes_the_best_baseline_and_the_ratio(tmp_path: Path):
    baselines = {"random": 0.05, "popularity": 0.40, "bm25": 0.30, "hybrid+prior": 0.35}
    gpu = {**baselines, "cross_encoder": 0.38, "llm_rerank": 0.50}
    cpu = {**baselines, "popularity": 0.41, "llm_rerank": 0.33}
    (tmp_path / "gpu.json").write_text(json.dumps(_metrics(gpu, "NVIDIA H200")))
    (tmp_path / "cpu.json").write_text(json.dumps(_metrics(cpu, "CPU (2 cores)")))
    run = _run(
        tmp_path, {"site": {"title": "A site", "gpu": "gpu.json", "cpu": "cpu.json"}}
    )
    assert run.returncode == 0, run.stderr[-2000:]
    page = (tmp_path / "page.md").read_text()
    assert "## A site" in page
    assert "| llm_rerank (GPU recipe) | full | 0.500 [0.450, 0.550]" in page
    assert "| llm_rerank (CPU recipe) | full | 0.330 [0.280, 0.380]" in page
    # Baselines come once, from the GPU run (popularity 0.400, not the CPU's 0.410).
    assert page.count("| popularity | full") == 1
    assert "| popularity | full | 0.400" in page
    assert "GPU recipe run: best baseline by MRR popularity (0.400)" in page
    assert "LLM 0.500 = 1.25x (goal on real data, GPU recipe: 1.10x)" in page
    assert "CPU recipe run: best baseline by MRR popularity (0.410)" in page
    assert "Baselines from the GPU recipe run" in page
    assert "differ by at most 0.010 MRR" in page
    assert page.count("predates the recency term") == 2
    assert "NVIDIA H200" in page and "CPU (2 cores)" in page


def test_a_missing_cpu_run_is_named_not_invented(tmp_path: Path):
    gpu = {"popularity": 0.40, "hybrid+prior": 0.35, "llm_rerank": 0.44}
    (tmp_path / "gpu.json").write_text(json.dumps(_metrics(gpu, "NVIDIA H200")))
    run = _run(tmp_path, {"site": {"gpu": "gpu.json", "cpu": "absent.json"}})
    assert run.returncode == 0, run.stderr[-2000:]
    page = (tmp_path / "page.md").read_text()
    assert "CPU recipe: not measured (`absent.json`)" in page
    assert "(CPU recipe)" not in page.split("Sources:")[0]
    assert "0.440 = 1.10x" in page
    assert "differ by at most" not in page


def test_baselines_come_from_the_run_with_the_current_candidate_stage(tmp_path):
    old = {"popularity": 0.40, "hybrid+prior": 0.43, "llm_rerank": 0.43}
    new = {**old, "recent_activity": 0.46, "hybrid+prior": 0.49, "llm_rerank": 0.49}
    (tmp_path / "gpu.json").write_text(json.dumps(_metrics(old, "NVIDIA H200")))
    (tmp_path / "cpu.json").write_text(json.dumps(_metrics(new, "CPU (2 cores)")))
    run = _run(tmp_path, {"site": {"gpu": "gpu.json", "cpu": "cpu.json"}})
    assert run.returncode == 0, run.stderr[-2000:]
    page = (tmp_path / "page.md").read_text()
    assert "| hybrid+prior | full | 0.490" in page
    assert "| recent_activity | full | 0.460" in page
    assert "Baselines from the CPU recipe run" in page
    # Each run's ratio is against its own baselines.
    assert "GPU recipe run: best baseline by MRR hybrid+prior (0.430)" in page
    assert "CPU recipe run: best baseline by MRR hybrid+prior (0.490)" in page
    assert "The GPU recipe run predates the recency term" in page
    assert "The CPU recipe run predates" not in page
