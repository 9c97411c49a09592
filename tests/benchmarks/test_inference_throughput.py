"""CPU smoke test of benchmarks/inference_throughput.py (tiny random Llama).

The full tiny run (both modes, every variant) is ``python
benchmarks/inference_throughput.py --tiny``; this test keeps to rerank to stay fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_cpu_run_writes_every_row(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}
    # Rerank only: generative scores 150 experts per agenda (slow on a busy CPU).
    args = ["--tiny", "--modes", "rerank", "--variants", "nf4+lora"]
    args += ["--batch", "2", "--repeats", "1", "--lever-batch", "1"]
    args += ["--lever-repeats", "1", "--prefix-off-batch", "1"]
    args += ["--prefix-off-repeats", "1", "--profile"]
    subprocess.run(
        [sys.executable, "benchmarks/inference_throughput.py", *args]
        + ["--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    rows = json.loads((tmp_path / "inference_throughput.json").read_text())
    levers = {(r["mode"], r["lever"]) for r in rows}
    expected = {
        ("rerank", "default"),
        ("rerank", "prefix-off"),
        ("rerank", "batch=1"),
        ("rerank", "agendas=64+prefix-off"),
        ("rerank", "agendas=64"),
        ("rerank", "agendas=64+packed"),
        ("both", "static-kv-cache"),
    }
    assert expected <= levers
    # Packed rows (the default's layout too) are checked against padded scoring.
    packed = [r for r in rows if str(r.get("layout", "")).startswith("packed")]
    assert {r["lever"] for r in packed} == {"default", "agendas=64+packed"}
    assert all(r["packed_check_rms_sd"] < 1e-3 for r in packed)
    assert all(r["score_gap_vs_padded"] < 1e-3 for r in packed)
    measured = [r for r in rows if r["lever"] != "static-kv-cache"]
    assert all(r["agendas_per_s"] > 0 and r["single_p50_ms"] > 0 for r in measured)
    assert (tmp_path / "inference_throughput.md").is_file()
    # --profile: one extra batch of each multi-agenda lever row, profiled.
    profiles = sorted(tmp_path.glob("inference_profile_*.txt"))
    assert {p.name.rsplit("_", 1)[-1] for p in profiles} == {
        "agendas=64+prefix-off.txt",
        "agendas=64.txt",
        "agendas=64+packed.txt",
    }
    text = profiles[0].read_text()
    assert "cumulative time" in text and "rank_many_with_scores" in text
    assert json.loads(text.splitlines()[0])["wall_s"] > 0
