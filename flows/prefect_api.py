"""Prefect's temporary API server, started when the command starts instead of at the first
flow call.

Without ``PREFECT_API_URL`` a Prefect flow starts a temporary API server the first time it
needs the API (``prefect.server.api.server.SubprocessASGIServer``): about 2 s importing the
server's modules into this process (holding the GIL the rest of the start-up needs), then
about 5 s until the server process answers; the night's worker processes, already started,
wait all that time. :func:`start` launches the same server process as the command begins
(Prefect's app factory ``prefect.server.api.server:create_app`` under uvicorn, with the
settings Prefect 3 gives its temporary server: no UI, ephemeral), so that it comes up on the
other core while this process imports and plans. :func:`api` waits for its health check and
points Prefect at it for the flow (``temporary_settings``, as Prefect's own test harness
does); :func:`stop` ends it (also at exit).

Only the command line uses it, and only when nothing else says where the API is: with
``PREFECT_API_URL`` set, or Prefect already imported with its settings fixed, :func:`start`
does nothing; when Prefect's settings, once read, name an API (a profile, ``prefect.toml``),
:func:`api` stops the early server and Prefect uses that API as usual. If the early server cannot be reached, Prefect
starts its own temporary server as before (a warning says why).
"""
from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

log = logging.getLogger("villagewatch.flows")

#: uvicorn's exit code when the port is taken (Prefect retries on another port too)
PORT_IN_USE = 3
#: the environment Prefect 3 gives its temporary server process (``SubprocessASGIServer``)
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EarlyServer:
    """One temporary Prefect API server process on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._launch()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _launch(self) -> None:
        spec = importlib.util.find_spec("prefect")  # finds the package without importing it
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError("prefect is not installed")
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, **SERVER_ENV})

    def wait(self, timeout: float) -> None:
        """Until ``/health`` answers 200; relaunched once on another port when the port was
        taken; ``RuntimeError`` (with the exit code) if the process ends, ``TimeoutError``."""
        with self._lock:
            deadline, relaunched = time.monotonic() + timeout, False
            while True:
                code = self.process.poll() if self.process else -1
                if code == PORT_IN_USE and not relaunched:
                    self._launch()
                    relaunched = True
                elif code is not None:
                    raise RuntimeError(f"the Prefect API server process ended with exit code {code}")
                try:
                    with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as resp:
                        if resp.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from the Prefect API server at {self.api_url} after {timeout:g} s")
                time.sleep(0.1)

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_server: EarlyServer | None = None


def start() -> EarlyServer | None:
    """Start the temporary API server now, unless ``PREFECT_API_URL`` is set or Prefect is
    already imported (its settings, and so its API, are then decided). Idempotent."""
    global _server
    if _server is not None:
        return _server
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return None
    try:
        _server = EarlyServer()
    except Exception as exc:  # noqa: BLE001 - Prefect then starts its own, as without us
        log.warning("Prefect API server not started early (%s); Prefect starts its own", exc)
        return None
    atexit.register(stop)  # registered before Prefect's own exit handlers, so it runs after them
    return _server


def stop() -> None:
    """Stop the temporary API server, if :func:`start` started one."""
    global _server
    server, _server = _server, None
    if server is not None:
        server.stop()


@contextlib.contextmanager
def api() -> Iterator[str | None]:
    """While the block runs, Prefect's API is the early server (its URL), once it answers;
    without one (or if it failed: a warning), Prefect's settings are left as they are (None)."""
    server = _server
    if server is None:
        yield None
        return
    from prefect.settings import (PREFECT_API_URL, PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
                                  PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, PREFECT_UI_URL,
                                  temporary_settings)

    if PREFECT_API_URL.value():  # a profile, prefect.toml or .env gives one: that server it is
        log.debug("Prefect's settings name an API (%s): the early server is not used", PREFECT_API_URL.value())
        stop()
        yield None
        return
    try:
        server.wait(float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
    except (RuntimeError, TimeoutError) as exc:
        log.warning("%s; Prefect starts its own temporary server", exc)
        stop()
        yield None
        return
    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}):  # no flow run yet
        log.info("Prefect API: temporary server at %s, started with the command", server.api_url)
    # no UI is served (as with Prefect's own temporary server): no "View at" link to it
    with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_UI_URL: ""}):
        yield server.api_url
