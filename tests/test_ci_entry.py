"""CI cannot stay green without the kedro-viz browser test; telemetry stays off.

``.ci/run`` is run from a scratch copy whose ``scripts/setup.sh`` and
``scripts/test.sh`` only record that they ran (and the environment they got), with a
``PATH`` holding only the tools it needs and a stub ``apt-get``: so the real script's
Chromium logic runs, and nothing is installed or tested for real.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser_requirement import REQUIRE_BROWSER, require_browser
from tests.conftest import PROJECT_ROOT

# What the stub setup.sh / test.sh write: their path and the CI flag they got.
_RECORD = (
    f'#!/bin/sh\necho "$0 {REQUIRE_BROWSER}=${REQUIRE_BROWSER}" '
    '>> "$(dirname "$0")/../ran.log"\n'
)


def _stub(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def _run_ci(tmp_path: Path, *, apt_ok: bool, chromium: bool) -> tuple[int, str, str]:
    """Run the real ``.ci/run`` in a scratch tree; return (rc, stderr, ran.log)."""
    (tmp_path / ".ci").mkdir()
    shutil.copy2(PROJECT_ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "scripts").mkdir()
    for script in ("setup.sh", "test.sh"):
        _stub(tmp_path / "scripts" / script, _RECORD)
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "dirname", "sh"):
        (tools / tool).symlink_to(shutil.which(tool))
    _stub(tools / "apt-get", f"#!/bin/sh\nexit {0 if apt_ok else 100}\n")
    if chromium:
        for tool in ("chromium", "chromedriver"):
            _stub(tools / tool, "#!/bin/sh\nexit 0\n")
    result = subprocess.run(
        [str(tools / "bash"), str(tmp_path / ".ci" / "run")],
        env={"PATH": str(tools), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log = tmp_path / "ran.log"
    return result.returncode, result.stderr, log.read_text() if log.exists() else ""


def test_ci_fails_when_chromium_cannot_be_installed(tmp_path: Path):
    rc, stderr, ran = _run_ci(tmp_path, apt_ok=False, chromium=False)
    assert rc != 0
    assert "Chromium" in stderr and "apt-get" in stderr
    assert ran == ""  # neither setup nor the test suite ran


@pytest.mark.parametrize(
    ("apt_ok", "chromium"), [(True, False), (False, True)], ids=["installed", "present"]
)
def test_ci_runs_the_suite_with_the_browser_test_required(
    tmp_path: Path, apt_ok: bool, chromium: bool
):
    rc, stderr, ran = _run_ci(tmp_path, apt_ok=apt_ok, chromium=chromium)
    assert rc == 0, stderr
    lines = ran.splitlines()
    assert [Path(line.split()[0]).name for line in lines] == ["setup.sh", "test.sh"]
    assert all(line.endswith(f"{REQUIRE_BROWSER}=1") for line in lines)


def test_missing_browser_fails_in_ci_and_skips_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    absent = tmp_path / "no-chromium"
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium"):
        require_browser(absent)
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="no-chromium"):
        require_browser(absent)
    present = tmp_path / "chromium"
    present.touch()
    if importlib.util.find_spec("selenium") is not None:
        assert require_browser(present) is None


def test_telemetry_consent_is_off():
    """README: telemetry is off; kedro-telemetry reads ``consent`` from here."""
    import yaml

    assert yaml.safe_load((PROJECT_ROOT / ".telemetry").read_text()) == {
        "consent": False
    }
