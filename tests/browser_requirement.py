"""Whether the kedro-viz browser test may skip: locally yes, in CI never.

``.ci/run`` exports ``EXPERT_KEDRO_REQUIRE_BROWSER=1`` (and fails when Chromium
cannot be installed), so a CI run cannot stay green without drawing the pipeline in
a real browser.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REQUIRE_BROWSER = "EXPERT_KEDRO_REQUIRE_BROWSER"


def missing_browser_parts(*executables: Path) -> list[str]:
    """The executables that do not exist, plus selenium when it is not installed."""
    missing = [str(path) for path in executables if not path.exists()]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (dev extra)")
    return missing


def require_browser(*executables: Path) -> None:
    """Skip the calling test when a browser part is missing; fail instead in CI.

    Raises:
        pytest.fail.Exception: A part is missing and ``EXPERT_KEDRO_REQUIRE_BROWSER``
            is ``1``.
        pytest.skip.Exception: A part is missing elsewhere.
    """
    missing = missing_browser_parts(*executables)
    if not missing:
        return
    message = f"the kedro-viz browser test needs {', '.join(missing)}"
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{message} ({REQUIRE_BROWSER}=1, set by .ci/run)")
    pytest.skip(message)
