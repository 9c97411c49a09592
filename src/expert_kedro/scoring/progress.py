"""Progress bars while agendas are scored (tqdm, as transformers uses).

Scoring a few hundred agendas with an LLM on a CPU takes minutes; a bar on stderr
says how far it is. A bar is shown only on an interactive terminal (never in logs
piped to a file or in CI) and only while ``recommender.progress_bar`` is true; the
``TQDM_DISABLE=1`` environment variable turns every bar off, ours and the
libraries'.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def agenda_progress(total: int, name: str, *, enabled: bool = True) -> tqdm:
    """A bar counting scored agendas, to be updated by the caller.

    Args:
        total: Agendas to score.
        name: What scores them (the system name, e.g. ``llm_rerank``).
        enabled: The ``recommender.progress_bar`` setting.

    Returns:
        A tqdm bar on stderr, disabled when ``enabled`` is false, when
        ``TQDM_DISABLE`` is set or when stderr is not a terminal.
    """
    off = not enabled or os.environ.get("TQDM_DISABLE", "").lower() in {
        "1",
        "true",
        "yes",
    }
    return tqdm(
        total=total,
        desc=f"{name}: scoring agendas",
        unit="agenda",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        # None: tqdm's own check, off when the stream is not a terminal.
        disable=True if off else None,
    )
