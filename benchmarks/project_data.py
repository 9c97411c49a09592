"""What one dataset's pipeline runs saved, read through the project's own catalog.

The benchmark scripts read the datasets of earlier ``kedro run`` s (the tuned
``retrieval_index``, the splits, ...) and the parameters of the same environment,
never files by path::

    data, params = load_saved("history", ["retrieval_index", "test_projects"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def load_saved(
    dataset: str, names: Sequence[str], root: Path = ROOT
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The named catalog datasets and the parameters of one dataset's environment.

    Args:
        dataset: ``synthetic`` (the base environment) or a Stack Exchange site
            (``--env stackexchange`` with ``stackexchange.site`` set to it).
        names: Catalog entries to load (their latest versions).
        root: The project folder whose data is read (another copy of this project,
            e.g. one whose runs used other parameters).

    Returns:
        ``({name: data}, parameters)``.
    """
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(ROOT)
    site = dataset != "synthetic"
    with KedroSession.create(
        project_path=root,
        env="stackexchange" if site else None,
        runtime_params={"stackexchange": {"site": dataset}} if site else None,
    ) as session:
        context = session.load_context()
        return {n: context.catalog.load(n) for n in names}, context.params
