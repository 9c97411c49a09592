"""``expert-recommend serve`` answers calls as the in-process path does.

One real server runs in a subprocess on the tiny trained project for the module;
the calls are real clients (CliRunner, or a fresh interpreter where imports
matter), compared with ``--no-server`` runs of the same command. The last test
stops the server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from expert_kedro.cli import recommend
from expert_kedro.console.errors import CLIError
from expert_kedro.console.recommend_server import claim_socket
from expert_kedro.console.server_address import socket_path
from expert_kedro.console.server_client import ask_server, exchange
from expert_kedro.console.server_protocol import PROTOCOL

QUESTIONS = (
    "-q",
    "How are European hospital groups tendering for infusion pumps?",
    "-q",
    "Which suppliers gained share in Germany?",
)
READY_TIMEOUT_S = 600
NEWER_VERSION = "2999-01-01T00.00.00.000Z"


class Server:
    """The server subprocess, its socket and its stderr file."""

    def __init__(self, project: Path, log: Path) -> None:
        self.project = project
        self.path = socket_path(project, None)
        self.log = log
        script = Path(sys.executable).parent / "expert-recommend"
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
        with log.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(script), "serve", "--project-path", str(project)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
            )

    def ping(self) -> dict | None:
        return exchange(self.path, {"op": "ping", "protocol": PROTOCOL}, 30)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited:\n{self.log.read_text()[-3000:]}")
            if self.path.exists() and self.ping() is not None:
                return
            time.sleep(0.5)
        pytest.fail(f"serve not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory):
    running = Server(trained_project.path, tmp_path_factory.mktemp("serve") / "log")
    try:
        running.wait_ready()
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def _run(server: Server, *args: str):
    result = CliRunner().invoke(
        recommend, ["--project-path", str(server.project), *args]
    )
    assert "Traceback" not in result.output
    return result


def test_socket_is_private(server, trained_project):
    assert stat.S_ISSOCK(server.path.stat().st_mode)
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700
    assert server.ping()["adapter_version"] == trained_project.adapter_version


@pytest.mark.parametrize("options", [("--json",), ("--top-k", "2")])
def test_served_output_is_the_in_process_output(server, options):
    served = _run(server, *QUESTIONS, *options)
    local = _run(server, *QUESTIONS, *options, "--no-server")
    assert served.exit_code == local.exit_code == 0, served.output + local.output
    assert served.stdout == local.stdout
    if "--json" in options:
        assert json.loads(served.stdout) == json.loads(local.stdout)
    else:
        assert served.stdout.splitlines()[0].split()[:2] == ["rank", "expert_id"]
        assert len(served.stdout.strip().splitlines()) == 3
    assert "Ranked 2 question(s)" in server.log.read_text()


def test_a_served_call_imports_no_model_library(server):
    """A fresh client process: same JSON, and neither torch nor pandas imported."""
    code = (
        "import sys\n"
        "from expert_kedro.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    heavy = {'torch', 'transformers', 'pandas', 'numpy', 'kedro'}\n"
        "    print(sorted(heavy & set(sys.modules)), file=sys.stderr)\n"
    )
    args = ["--project-path", str(server.project), *QUESTIONS, "--json"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    rows = json.loads(done.stdout)
    assert rows == json.loads(_run(server, *QUESTIONS, "--json", "--no-server").stdout)


def test_errors_come_back_as_one_line(server):
    answer = ask_server(server.project, None, {"op": "recommend", "agenda": []})
    assert answer["status"] == "error"
    assert "empty list" in answer["message"]
    assert "\n" not in answer["message"]
    empty = _run(server, "-q", "   ")
    assert empty.exit_code == 1
    assert "empty" in empty.stderr
    other_mode = _run(server, *QUESTIONS, "--mode", "generative")
    assert other_mode.exit_code == 1
    assert other_mode.stderr.strip().splitlines() == [
        "Error: The expert-recommend server of this project ranks in rerank mode "
        "(recommender.mode); add --no-server to rank in generative mode."
    ]


def test_another_adapter_version_ranks_in_process(server):
    result = _run(server, "-q", "Q?", "--adapter-version", "2001-01-01T00.00.00.000Z")
    assert result.exit_code == 1
    # The in-process error, which names the versions that exist.
    assert "Versions there (newest first)" in result.stderr


def test_a_new_adapter_version_is_loaded(server, trained_project):
    target = trained_project.adapter_dir.parent.parent / NEWER_VERSION
    shutil.copytree(trained_project.adapter_dir.parent, target)
    try:
        served = _run(server, *QUESTIONS, "--json")
        assert served.exit_code == 0, served.output
        assert server.ping()["adapter_version"] == NEWER_VERSION
        assert f"New lora_adapter version {NEWER_VERSION}" in server.log.read_text()
        local = _run(server, *QUESTIONS, "--json", "--no-server")
        assert served.stdout == local.stdout
    finally:
        shutil.rmtree(target)


def test_stale_socket_is_replaced_and_a_live_one_kept(server, tmp_path):
    stale = tmp_path / "stale.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(stale))
    listener.close()  # the file stays, nobody listens: a killed server's socket
    assert exchange(stale, {"op": "ping"}) is None
    claim_socket(stale)
    assert not stale.exists()
    with pytest.raises(CLIError, match="already serves"):
        claim_socket(server.path)


def test_sigterm_stops_the_server_and_removes_its_socket(server):
    assert server.stop() == 0
    assert not server.path.exists()
    assert server.process.stdout.read() == b""  # logs go to stderr only
    assert "Stopped; removed" in server.log.read_text()
