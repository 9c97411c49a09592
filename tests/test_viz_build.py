"""kedro-viz offline: ``kedro viz build`` (static site, previews) and ``kedro viz run``.

Both commands run in a copy of the project after the data pipelines, with every
proxy variable pointing at a closed local port, so that any HTTP call they attempt
(PyPI version check, telemetry) fails at once instead of reaching the network. The
browser test serves the static site over http on localhost (kedro-viz's JS does not
load from file://) to headless Debian Chromium driven by selenium, checks that every
node of the ``training`` pipeline is drawn and saves a screenshot. Set
``EXPERT_KEDRO_UPDATE_SCREENSHOT=1`` to also refresh docs/assets/kedro-viz-training.png.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.browser_requirement import require_browser
from tests.conftest import PROJECT_ROOT, copy_project
from tests.test_lineage import LAYERS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = PROJECT_ROOT / "docs" / "assets" / "kedro-viz-training.png"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"
# Window size of the README screenshot; kedro-viz fits the graph into it.
WINDOW = (1500, 2000)
# Stored kedro-viz UI state: light theme, no sidebar/minimap, no feature tour.
VIZ_UI_STATE = {
    "showFeatureHints": False,
    "theme": "light",
    "visible": {
        "sidebar": False,
        "miniMap": False,
        "code": False,
        "graph": True,
        "slicing": True,
        "traceback": False,
    },
}


def offline_env() -> dict[str, str]:
    """Environment for kedro commands that must not touch the network."""
    env = dict(os.environ)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[key] = env[key.lower()] = CLOSED_PORT_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(KEDRO_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1", HF_HUB_OFFLINE="1")
    return env


def free_port() -> int:
    """A free local port below 49152 (kedro viz run refuses higher ones)."""
    for port in random.sample(range(20000, 45000), 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free local port in 20000-45000")


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop a server started with ``start_new_session=True`` and its children."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy where data_processing + augmentation have run (for previews)."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    project = copy_project(tmp_path_factory.mktemp("viz") / "project")
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "augmentation"])
    return project


@pytest.fixture(scope="module")
def viz_build(ran_project: Path) -> Path:
    """``kedro viz build --include-previews`` in the copy; returns the build folder."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build", "--include-previews"],
        cwd=ran_project,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    # kedro viz build exits 0 even when it fails: the message is the only signal.
    assert result.returncode == 0, output[-3000:]
    assert "Success! Kedro-Viz build files have been added" in output, output[-3000:]
    return ran_project / "build"


def _api(build: Path, *parts: str) -> dict:
    return json.loads((build / "api" / Path(*parts)).read_text(encoding="utf-8"))


def _node_ids(pipeline: dict) -> dict[str, str]:
    return {node["name"]: node["id"] for node in pipeline["nodes"]}


def test_build_is_a_static_site_without_telemetry(viz_build: Path):
    index = (viz_build / "index.html").read_text(encoding="utf-8")
    assert '<div id="root">' in index
    assert "heapanalytics" not in index
    main = _api(viz_build, "main")
    pipeline_ids = {p["id"] for p in main["pipelines"]}
    assert {"training", "data_processing", "augmentation", "__default__"} <= (
        pipeline_ids
    )
    for pipeline_id in pipeline_ids:
        assert (viz_build / "api" / "pipelines" / pipeline_id).is_file()


def test_build_draws_layers_left_to_right(viz_build: Path):
    for pipeline_id in ("__default__", "training"):
        pipeline = _api(viz_build, "pipelines", pipeline_id)
        used = {n["layer"] for n in pipeline["nodes"] if n.get("layer")}
        drawn = [layer for layer in pipeline["layers"] if layer in used]
        assert drawn == [layer for layer in LAYERS if layer in used], pipeline_id
        assert {"raw", "intermediate", "primary", "feature"} <= used


@pytest.mark.parametrize(
    ("dataset", "preview_type", "expected"),
    [
        ("expert_data_raw", "TablePreview", "project_agenda_responses"),
        ("clean_matches", "TablePreview", "agenda"),
        ("train_pairs", "TablePreview", "output"),
        ("augmented_train_pairs", "TablePreview", "source"),
        ("data_quality_report", "JSONPreview", "cleaning"),
        ("augmentation_report", "JSONPreview", "splits"),
    ],
)
def test_build_includes_dataset_previews(
    viz_build: Path, dataset: str, preview_type: str, expected: str
):
    node_id = _node_ids(_api(viz_build, "main"))[dataset]
    details = _api(viz_build, "nodes", node_id)
    assert details["preview_type"] == preview_type, details
    preview = details["preview"]
    if preview_type == "TablePreview":
        assert expected in preview["columns"]
        assert 1 <= len(preview["data"]) <= 20
    else:
        assert expected in json.loads(preview)


@pytest.fixture
def served_build(viz_build: Path) -> Iterator[str]:
    """The static build served over http on localhost; yields its base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output readable
            pass

    handler = functools.partial(QuietHandler, directory=str(viz_build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _chromium(user_data_dir: Path):
    """Headless Debian Chromium driven by selenium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={user_data_dir}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        # Offline on purpose: the Google Fonts link in kedro-viz's page fails fast.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def test_browser_renders_the_training_pipeline(
    served_build: str, viz_build: Path, tmp_path: Path
):
    require_browser(CHROMIUM, CHROMEDRIVER)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    training = _api(viz_build, "pipelines", "training")
    expected = {n["name"] for n in training["nodes"] if n["type"] in ("task", "data")}
    tasks = {n["name"] for n in training["nodes"] if n["type"] == "task"}
    assert tasks, "training pipeline has no nodes"

    driver = _chromium(tmp_path / "chromium-profile")
    try:
        # Seed kedro-viz's stored UI state before its scripts read it.
        state = json.dumps(json.dumps(VIZ_UI_STATE))
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": f"window.localStorage.setItem('KedroViz', {state});"},
        )
        driver.get(f"{served_build}/?pid=training")

        def drawn_names(drv) -> set[str]:
            labels = drv.find_elements(By.CSS_SELECTOR, ".pipeline-node text")
            return {label.text.strip() for label in labels}

        WebDriverWait(driver, 60).until(lambda d: expected <= drawn_names(d))
        assert tasks <= drawn_names(driver)
        layers = {
            el.text
            for el in driver.find_elements(By.CSS_SELECTOR, ".pipeline-layer-name")
        }
        assert {"raw", "primary"} <= layers, layers
        time.sleep(1)  # let the zoom-to-fit transition settle for the screenshot
        shot = tmp_path / "kedro-viz-training.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()

    from PIL import Image

    with Image.open(shot) as image:
        assert image.width >= WINDOW[0] * 0.9
        colours = image.convert("L").getextrema()
        assert colours[1] - colours[0] > 100, "screenshot is blank"
    if os.environ.get("EXPERT_KEDRO_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_viz_run_serves_the_project_offline(ran_project: Path):
    port = free_port()
    log = ran_project / "viz_run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kedro", "viz", "run", "--no-browser"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            cwd=ran_project,
            env=offline_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 180
        main = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                main = requests.get(f"{url}/main", timeout=5).json()
                break
            except requests.RequestException:
                time.sleep(1)
        assert main is not None, log.read_text()[-3000:]
        ids = _node_ids(main)
        assert {"clean_expert_data_node", "expert_data_raw", "train_pairs"} <= set(ids)
        details = requests.get(f"{url}/nodes/{ids['clean_matches']}", timeout=30)
        assert details.status_code == 200, details.text[:500]
        assert "agenda" in details.json()["preview"]["columns"]
        index = requests.get(f"http://127.0.0.1:{port}/", timeout=10).text
        assert '<div id="root">' in index
    finally:
        stop_process_group(process)
