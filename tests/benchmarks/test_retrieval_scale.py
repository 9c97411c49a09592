"""Smoke test of benchmarks/retrieval_scale.py (--tiny: two small rosters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_run_builds_loads_and_times_each_roster(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "benchmarks/retrieval_scale.py", "--tiny"]
    command += ["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]
    # The second roster's profiles past the first chunk get derived embeddings.
    command += ["--encode-limit", "20"]
    # Past questions get derived embeddings too (the 100k setting): nothing to encode.
    command += ["--derive-history"]
    run = subprocess.run(
        command, check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "out/retrieval_scale_cpu.json").read_text())
    assert {"machine", "date", "command", "loadavg"} <= set(report)
    small, large = report["rows"]
    assert (small["experts"], large["experts"]) == (20, 40)
    assert small["profiles_encoded"] == 20 and not small["profile_encode_extrapolated"]
    assert large["profiles_encoded"] == 20 and large["profile_encode_extrapolated"]
    for row in (small, large):
        assert row["queries"] == 3
        assert row["history_embeddings"].startswith("derived (")
        assert row["fit_texts_encoded"] == 0  # the fit reused the seeded embeddings
        assert 0 < row["scan_p50_ms"] <= row["latency_p50_ms"]
        assert row["disk_mib_parts"]["embeddings"] > 0
        assert row["query_peak_rss_mib"] >= row["rss_after_load_mib"] > 0
    assert large["disk_mib"] > small["disk_mib"]
    assert (tmp_path / "out/retrieval_scale_cpu.md").read_text().count("| 40 |") == 2
    # Cached embeddings are reused: encoding again touches no chunk.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from retrieval_scale import parse_args  # noqa: PLC0415
    from retrieval_scale_phases import embedding_chunks, roster_documents  # noqa: PLC0415

    from expert_kedro.retrieval import DenseRetriever  # noqa: PLC0415

    args = parse_args([*command[2:], "--reuse-embeddings"])
    chunks = sorted((tmp_path / "cache").rglob("chunk_*.npy"))
    stamps = [c.stat().st_mtime_ns for c in chunks]
    texts = DenseRetriever.profile_texts(roster_documents(args, 40))
    assert embedding_chunks(args, texts) == chunks[0].parent
    assert [c.stat().st_mtime_ns for c in chunks] == stamps


def test_earlier_rows_keeps_sizes_not_measured_again(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from retrieval_scale import earlier_rows  # noqa: PLC0415

    assert earlier_rows(tmp_path / "none.json", [10]) == {"rows": [], "runs": []}
    first = {"date": "d1", "command": "c1", "loadavg": [1.0]}
    second = {"date": "d2", "command": "c2", "loadavg": [2.0]}
    report = {
        **second,
        "earlier_runs": [first],
        "rows": [
            {"experts": 10, "run": "d1"},
            {"experts": 20},  # written before rows were dated: the report's run
            {"experts": 30, "run": "d2"},
        ],
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    kept = earlier_rows(path, [30])
    assert kept["rows"] == [
        {"experts": 10, "run": "d1"},
        {"experts": 20, "run": "d2"},
    ]
    assert kept["runs"] == [first, second]
    only_first = earlier_rows(path, [20, 30])
    assert only_first == {"rows": [{"experts": 10, "run": "d1"}], "runs": [first]}
