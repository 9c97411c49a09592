"""Synthetic expert rosters of any size, drawn like the reference roster.

Each synthetic expert recombines the fields of the reference experts
(``data/01_raw/experts.csv`` through the project's data_processing nodes): the
headline of one expert, the bio of another, the work history, location, industry
and skills of others, picked with a seeded generator. Its training history is as
long as a real expert's (the number of training projects of a random reference
expert) and made of real training agendas drawn at random. A roster of size ``n``
is the first ``n`` experts of the largest one, so sizes share their experts.

Query agendas are the real held-out agendas (test, then validation projects): none
is a training agenda, so none is indexed.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

_FIELDS = (
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
    "expert_skills",
)


@dataclass(frozen=True)
class Reference:
    """The shipped data, as the data_processing nodes make it."""

    roster: pd.DataFrame
    train_pairs: pd.DataFrame
    query_agendas: list[list[str]]


def load_reference(root: Path) -> Reference:
    """Roster, training pairs and held-out agendas from ``data/01_raw``."""
    from expert_kedro.pipelines.data_processing import nodes  # noqa: PLC0415

    conf = root / "conf" / "base"
    params = yaml.safe_load((conf / "parameters_data_processing.yml").read_text())
    read = {"dtype": str, "keep_default_na": False}
    raw_dir = root / "data" / "01_raw"
    exports = sorted(glob.glob(str(raw_dir / "expert_data.csv" / "*/expert_data.csv")))
    raw = pd.read_csv(exports[-1] if exports else raw_dir / "expert_data.csv", **read)
    reference = pd.read_csv(raw_dir / "experts.csv", **read)
    rows, _ = nodes.clean_expert_data(raw)
    matches = nodes.select_clean_matches(rows)
    roster, _ = nodes.build_expert_roster(rows, reference, params["roster"])
    splits, _ = nodes.split_projects(matches, params["split"])
    validation, test = nodes.build_evaluation_projects(matches, splits)
    train_pairs, _, _, _ = nodes.build_instruction_pairs(
        matches, splits, roster, params["pairs"]
    )
    queries = [list(agenda) for agenda in pd.concat([test, validation])["agenda"]]
    return Reference(roster, train_pairs, queries)


def synthetic_roster(reference: Reference, n: int, seed: int) -> pd.DataFrame:
    """``n`` experts whose fields are drawn from different reference experts.

    Args:
        reference: The shipped roster and training pairs.
        n: Roster size.
        seed: Generator seed (same seed and ``n``: same roster).

    Returns:
        Rows of the ``expert_roster`` contract, ids ``1..n``.
    """
    rng = np.random.default_rng(seed)
    source = reference.roster.reset_index(drop=True)
    picks = rng.integers(0, len(source), size=(n, len(_FIELDS)))
    columns = {
        field: source[field].to_numpy()[picks[:, i]] for i, field in enumerate(_FIELDS)
    }
    return pd.DataFrame(
        {
            "expert_id": np.arange(1, n + 1),
            "expert_name": [f"Synthetic Expert {i}" for i in range(1, n + 1)],
            **columns,
        }
    )


def synthetic_train_pairs(
    reference: Reference, n: int, seed: int, max_history: int | None = None
) -> pd.DataFrame:
    """Training histories for experts ``1..n``, as long as real ones.

    Args:
        reference: The shipped roster and training pairs.
        n: Roster size.
        seed: Generator seed.
        max_history: Cap on training projects per expert (a quick smoke run);
            None keeps the real distribution.

    Returns:
        ``project_id, expert_id, agenda`` rows (real training agendas).
    """
    rng = np.random.default_rng([seed, 1])
    pool = reference.train_pairs.drop_duplicates("project_id").reset_index(drop=True)
    per_expert = (
        reference.train_pairs.groupby("expert_id")
        .size()
        .reindex(reference.roster["expert_id"], fill_value=0)
        .to_numpy()
    )
    counts = rng.choice(per_expert, size=n)
    if max_history is not None:
        counts = np.minimum(counts, max_history)
    experts = np.repeat(np.arange(1, n + 1), counts)
    drawn = rng.integers(0, len(pool), size=len(experts))
    return pd.DataFrame(
        {
            "project_id": pool["project_id"].to_numpy()[drawn],
            "expert_id": experts,
            "agenda": pool["agenda"].to_numpy()[drawn],
        }
    )
