"""The nightly deployment registered on a real local Prefect server is scheduled at 02:00 Beijing time."""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from support.procs import stop

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory):
    """``prefect server start`` on 127.0.0.1 (sqlite in a temp PREFECT_HOME), stopped after."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2", "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).with_name("prefect")
    proc = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("prefect server exited at start")
            time.sleep(0.5)
        else:
            pytest.fail("prefect server did not answer within 120 s")
        yield url
    finally:
        stop(proc, 20)


def next_0200_shanghai(now: dt.datetime) -> dt.datetime:
    tz = ZoneInfo("Asia/Shanghai")
    local = now.astimezone(tz)
    cand = local.replace(hour=2, minute=0, second=0, microsecond=0)
    if cand <= local:
        cand += dt.timedelta(days=1)
    return cand


def test_nightly_schedule_registered_at_0200_shanghai(prefect_api, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import deploy

    with temporary_settings({PREFECT_API_URL: prefect_api}):
        dep_id = deploy.register(parameters={"source": "demo", "out": "/tmp/vw-out"})
    assert dep_id
    dep = httpx.get(f"{prefect_api}/deployments/{dep_id}", timeout=10).json()
    assert dep["name"] == deploy.DEPLOYMENT_NAME
    (sched,) = dep["schedules"]
    assert sched["schedule"]["cron"] == "0 2 * * *"
    assert sched["schedule"]["timezone"] == "Asia/Shanghai"
    assert dep["parameters"]["source"] == "demo"

    now = dt.datetime.now(dt.timezone.utc)
    expected = next_0200_shanghai(now)
    runs = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not runs:
        r = httpx.post(f"{prefect_api}/flow_runs/filter", timeout=10, json={
            "deployments": {"id": {"any_": [str(dep_id)]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 5})
        runs = r.json()
        if not runs:
            time.sleep(1)
    assert runs, "the server scheduled no run of the nightly deployment"
    first = dt.datetime.fromisoformat(runs[0]["expected_start_time"].replace("Z", "+00:00"))
    assert first == expected, (first, expected)
    assert first.astimezone(dt.timezone.utc).hour == 18  # 02:00 UTC+8
