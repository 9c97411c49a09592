"""The table and path that end a run which wrote recommendations."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from kedro.io import DataCatalog, Version
from kedro_datasets.pandas import CSVDataset

from expert_kedro.console import run_summary
from expert_kedro.console.run_summary import RecommendationSummaryHooks
from expert_kedro.console.tables import SUMMARY_COLUMNS, format_recommendations


def _recommendations(cases: int, top_k: int = 5) -> pd.DataFrame:
    rows = [
        {
            "case_id": f"case-{c:03d}",
            "rank": rank,
            "expert_id": f"E{c}{rank}",
            "expert_name": f"Expert {c}-{rank}",
            "score": 10.0 - rank,
            "expert_headline": "Former procurement director " * 5,
        }
        for c in range(cases)
        for rank in range(1, top_k + 1)
    ]
    return pd.DataFrame(rows)


def test_table_keeps_the_first_ranks_of_the_first_agendas() -> None:
    text = format_recommendations(
        _recommendations(12), SUMMARY_COLUMNS, top=3, max_cases=10
    )
    lines = text.splitlines()
    assert lines[0].split() == list(SUMMARY_COLUMNS)
    assert len(lines) == 1 + 10 * 3 + 1
    assert lines[-1] == "... and 2 more agenda(s) in the file."
    assert "Expert 9-3" in text and "Expert 9-4" not in text
    assert "case-010" not in text


def test_long_text_is_cut() -> None:
    text = format_recommendations(_recommendations(1))
    assert max(len(line) for line in text.splitlines()) < 140
    assert "..." in text


def test_run_logs_table_and_resolved_versioned_path(
    tmp_path: Path, caplog, monkeypatch
) -> None:
    """A real versioned CSVDataset: the logged path is the file of this save."""
    # Earlier tests configure logging (Kedro sessions, the CLI's quiet mode): make
    # sure this module's records reach caplog whatever state they left.
    for name in ("expert_kedro", "expert_kedro.console", run_summary.__name__):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    target = tmp_path / "recommendations.csv"
    dataset = CSVDataset(
        filepath=str(target), version=Version(None, None), save_args={"index": False}
    )
    catalog = DataCatalog(datasets={"recommendations": dataset})
    data = _recommendations(2)
    catalog.save("recommendations", data)
    caplog.clear()  # Kedro's own "Saving data" record
    hooks = RecommendationSummaryHooks()
    with caplog.at_level(logging.INFO, logger="expert_kedro"):
        hooks.after_dataset_saved(dataset_name="other", data=data)
        hooks.after_pipeline_run(catalog=catalog)
        assert not caplog.records  # nothing saved under the watched name
        hooks.after_dataset_saved(dataset_name="recommendations", data=data)
        hooks.after_pipeline_run(catalog=catalog)
    (written,) = target.glob("*/recommendations.csv")
    message = caplog.records[-1].getMessage()
    assert message.endswith(f": {written}"), message
    assert "Expert 1-3" in message and "Expert 1-4" not in message
    assert "All 10 recommendations" in message
    caplog.clear()
    monkeypatch.chdir(tmp_path)  # below the working directory: a relative path
    with caplog.at_level(logging.INFO, logger="expert_kedro"):
        hooks.after_dataset_saved(dataset_name="recommendations", data=data)
        hooks.after_pipeline_run(catalog=catalog)
    assert (
        caplog.records[-1].getMessage().endswith(f": {written.relative_to(tmp_path)}")
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="expert_kedro"):
        hooks.after_pipeline_run(catalog=catalog)  # once per run
        # A run that failed after saving does not leak into the next run.
        hooks.after_dataset_saved(dataset_name="recommendations", data=data)
        hooks.before_pipeline_run()
        hooks.after_pipeline_run(catalog=catalog)
    assert not caplog.records
