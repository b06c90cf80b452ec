"""The Prefect API server a command starts early (flows.prefect_api): the flow runs against it,
Prefect does not start a second one, a port taken is tried again elsewhere, and a server that
dies leaves Prefect to start its own."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows import prefect_api

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_is_started_when_prefect_already_knows_its_api(monkeypatch):
    """In this test session Prefect is imported (its settings are fixed): no early server."""
    import prefect  # noqa: F401  (as once a flow has run in this process)

    monkeypatch.setattr(prefect_api, "_server", None)
    assert prefect_api.start() is None
    monkeypatch.delitem(sys.modules, "prefect")  # as before Prefect is imported
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_api.start() is None  # a server given: used as it is


class _Fake(prefect_api.EarlyServer):
    """An 'API server' from commands: the first exits with ``codes[0]``, the next is an HTTP
    server whose folder holds ``api/health`` (GET answers 200)."""

    def __init__(self, codes: list[int], folder: Path) -> None:
        self.codes, self.folder, self.launches = list(codes), folder, 0
        super().__init__()

    def _launch(self) -> None:
        self.launches += 1
        self.port = prefect_api._free_port()
        if self.codes:
            cmd = [sys.executable, "-c", f"import sys; sys.exit({self.codes.pop(0)})"]
        else:
            cmd = [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                   "--directory", str(self.folder)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def health_folder(tmp_path: Path) -> Path:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "health").write_text("true")
    return tmp_path


def test_a_port_taken_is_tried_again_on_another(health_folder):
    server = _Fake([prefect_api.PORT_IN_USE], health_folder)
    try:
        server.wait(30)
        assert server.launches == 2
        assert server.process.poll() is None  # the second one answers and runs
    finally:
        server.stop()
    assert server.process is None


def test_a_server_that_ends_leaves_prefect_to_start_its_own(health_folder, monkeypatch, caplog):
    server = _Fake([1], health_folder)
    monkeypatch.setattr(prefect_api, "_server", server)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # no API named (this session's harness may name one)
        with caplog.at_level(logging.WARNING, logger="villagewatch.flows"):
            with prefect_api.api() as url:
                assert url is None
                assert PREFECT_API_URL.value() is None  # Prefect's settings untouched: it starts its own
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "the Prefect API server process ended with exit code 1; Prefect starts its own temporary server"]
    assert prefect_api._server is None


def test_an_api_named_by_prefects_settings_wins_over_the_early_server(health_folder, monkeypatch):
    """A profile or prefect.toml may name a server that the environment does not: it is used,
    the early server stopped."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = _Fake([], health_folder)
    monkeypatch.setattr(prefect_api, "_server", server)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with prefect_api.api() as url:
            assert url is None
            assert PREFECT_API_URL.value() == "http://127.0.0.1:4200/api"
    assert server.process is None and prefect_api._server is None


@pytest.mark.slow
def test_a_flow_runs_against_the_early_server_and_prefect_starts_no_other(tmp_path):
    """A fresh process, as the command line: the server started before Prefect is imported,
    a flow run inside ``api()``: the flow sees the early server's URL, Prefect never starts its
    own temporary server, the server is gone after the process."""
    script = textwrap.dedent("""
        import json, os, sys
        from flows import prefect_api
        server = prefect_api.start()
        assert server is not None and "prefect" not in sys.modules
        from prefect import flow
        from prefect.settings import PREFECT_API_URL

        @flow
        def probe():
            return PREFECT_API_URL.value()

        with prefect_api.api() as url:
            seen = probe()
        print(json.dumps({"url": url, "seen": seen, "pid": server.process.pid,
                          "prefect_server_imported": "prefect.server.api.server" in sys.modules}))
    """)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["url"].startswith("http://127.0.0.1:") and got["url"].endswith("/api")
    assert got["seen"] == got["url"]
    assert got["prefect_server_imported"] is False  # Prefect never reached for its own temporary server
    assert "Starting temporary server" not in done.stderr + done.stdout  # nor logged starting one
    assert not Path(f"/proc/{got['pid']}").exists()  # stopped at exit
