"""Fixtures shared by the whole suite (the one place they are defined): the real-data folder,
the registry, one Prefect test server, and one demo night built once per session.

``demo_night`` is what ``villagewatch nightly --source demo`` makes (Prefect executor, drone
stream on, published) for three villages of different counties; every test that only reads
outputs uses it (tests that change outputs work on a copy: ``copy_night``). ``plain_night`` is
the same night for one of them with the plain executor, to compare the two executors.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import pickle
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

from support.paths import REALDATA, REPO  # noqa: E402

#: three demo villages (different counties, so different scenes and planted changes); the
#: first two have the drone stream
DEMO_VILLAGES = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei", "yingde-xiniu-tangmian")
DEMO_START, DEMO_END = dt.date(2025, 11, 1), dt.date(2025, 12, 3)  # sensing.demo.timeline.DEFAULT_WINDOW


@dataclass(frozen=True)
class Night:
    out: Path
    runs: tuple


@contextmanager
def _run_lock(path: Path):
    """An exclusive lock on ``path`` (one holder among the pytest-xdist workers)."""
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], tuple]) -> Night:
    """``build(out)`` once per test run: under pytest-xdist the first worker builds into a
    folder all workers share (the others wait on a lock and read it), so a session night is
    made once whatever the number of workers. Its runs are pickled beside it."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        out = tmp_path_factory.mktemp(name)
        return Night(out, tuple(build(out)))
    root = tmp_path_factory.getbasetemp().parent  # shared by the workers of this run
    out, done = root / name, root / f"{name}.runs.pickle"
    with _run_lock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            runs = tuple(build(out))
            done.write_bytes(pickle.dumps(runs))
    return Night(out, pickle.loads(done.read_bytes()))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata`` (real imagery and STAC responses); tests skip if it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is missing (set VILLAGEWATCH_REALDATA)")
    return REALDATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


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


@pytest.fixture(scope="session")
def demo_villages(registry_villages):
    by_id = {v.id: v for v in registry_villages}
    return [by_id[i] for i in DEMO_VILLAGES]


@pytest.fixture(scope="session")
def demo_source():
    from sensing.demo import DemoSource

    return DemoSource(drone_stream=True)


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory, demo_villages, demo_source, request) -> Night:
    """``OUT`` of the demo night (Prefect executor) for :data:`DEMO_VILLAGES`, published; built
    once per test run (also under pytest-xdist: :func:`built_once`)."""
    from flows.params import Params
    from flows.runner import finish_run, run_prefect

    def build(out: Path):
        request.getfixturevalue("prefect_server")  # only the worker that builds needs the API
        runs = run_prefect(demo_villages, demo_source, out, DEMO_START, DEMO_END, Params())
        failed = {r.village_id: r.reason for r in runs if r.status != "ok"}
        assert not failed, f"demo night failed: {failed}"
        finish_run(out, demo_villages, runs)
        return runs

    return built_once(tmp_path_factory, "demo_night", build)


@pytest.fixture(scope="session")
def demo_out(demo_night) -> Path:
    return demo_night.out


@pytest.fixture(scope="session")
def plain_night(tmp_path_factory, demo_villages, demo_source) -> Night:
    """The first demo village's night with the plain executor, published (built once per run)."""
    from flows.params import Params
    from flows.runner import finish_run, run_plain

    def build(out: Path):
        runs = run_plain(demo_villages[:1], demo_source, out, DEMO_START, DEMO_END, Params())
        finish_run(out, demo_villages[:1], runs)
        return runs

    return built_once(tmp_path_factory, "plain_night", build)


@pytest.fixture
def copy_night(demo_out, tmp_path) -> Path:
    """A private copy of the demo night's output, for tests that change or re-run it."""
    dst = tmp_path / "out"
    shutil.copytree(demo_out, dst, symlinks=True)
    return dst


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium under Playwright; the tests skip with the reason when either is missing."""
    from support.browser import chromium_path

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); no browser is downloaded")
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        try:
            yield b
        finally:
            b.close()
