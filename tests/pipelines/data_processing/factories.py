"""Small synthetic raw exports and rosters for unit tests (text cells, as loaded)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

SYSTEM_PROMPTS = {"profile": "Recommend; give the profile.", "rationale": "Explain."}
PAIRS_PARAMS = {
    "output_format": "profile",
    "include_title": False,
    "rationale_max_answers": 2,
    "system_prompts": SYSTEM_PROMPTS,
}


def profile(expert_id: int, name: str | None = None) -> dict[str, str]:
    """Reference-style profile row (skills as JSON text)."""
    return {
        "expert_id": str(expert_id),
        "expert_name": name or f"Expert {expert_id}",
        "expert_headline": f"Head of Sourcing {expert_id}",
        "expert_bio": f"Expert {expert_id} ran sourcing for widgets.",
        "expert_work_summary": "2010–2020: Head of Sourcing, Acme.",
        "expert_location": "Lyon, France",
        "expert_industry": "Industrials",
        "expert_skills": json.dumps(["Widgets", "Sourcing"]),
    }


def questions(project_id: int, n: int = 5) -> list[str]:
    return [f"Question {i} about project {project_id}?" for i in range(1, n + 1)]


def raw_row(project_id: int, expert_id: int, **overrides: Any) -> dict[str, str]:
    """One clean raw row; ``overrides`` replace cells (use text, as in the CSV)."""
    agenda = overrides.pop("agenda_list", None) or questions(project_id)
    row = {
        "project_id": str(project_id),
        "project_title": f"Project {project_id}",
        "client_type": "hedge fund",
        "created_at": "2024-01-01",
        "agenda": json.dumps(agenda),
        "project_agenda_responses": json.dumps(
            [{"question": q, "answer": f"Answer by {expert_id}."} for q in agenda]
        ),
        **profile(expert_id),
    }
    row.update(overrides)
    return row


def raw_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype(str)


def reference(expert_ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame([profile(e) for e in expert_ids]).astype(str)
