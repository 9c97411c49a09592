"""When, where and how a CPU benchmark ran, and its two result files.

Every results file names its date, machine and command (docs/benchmarks.md)::

    results = {**run_record(command), "sites": ...}
    write_results(args.out, results, report(results))  # <out>.json and <out>
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def run_record(command: str) -> dict[str, str]:
    """The date (UTC), the machine (cores, architecture, Python) and the command."""
    return {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, Python "
        f"{platform.python_version()}",
        "command": command,
    }


def write_results(out: Path, results: dict[str, Any], markdown: str) -> None:
    """The results as JSON beside ``out`` (``.json``) and the report at ``out``."""
    out.with_suffix(".json").write_text(
        json.dumps(results, indent=2, default=str), encoding="utf-8"
    )
    out.write_text(markdown, encoding="utf-8")
