"""Shared fixtures: the real-data folder, the demo villages, one Prefect test server per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("VILLAGEWATCH_REALDATA", REPO.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata`` (real imagery and STAC responses); tests skip if it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is missing (set VILLAGEWATCH_REALDATA)")
    return REALDATA


@pytest.fixture(scope="session")
def prefect_server():
    """One ephemeral Prefect API for the whole test session (starting one takes seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def registry_villages():
    from aoi.registry import load_villages

    return load_villages()
