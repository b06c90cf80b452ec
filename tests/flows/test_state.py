"""Run state: incremental windows start at each village's last success; writes are atomic and stable."""
from __future__ import annotations

import datetime as dt

import pytest

from flows import state
from flows.products.atomic import sha256_file
from flows.results import VillageRun


def test_windows_start_at_last_success(tmp_path):
    start, end = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    assert state.windows(["a", "b"], tmp_path, start, end) == {"a": (start, end), "b": (start, end)}
    state.record(tmp_path, [VillageRun("a", dates=["2024-04-20", "2024-07-18"]),
                            VillageRun("b", status="failed", reason="boom")])
    w = state.windows(["a", "b"], tmp_path, start, end)
    assert w["a"] == (dt.date(2024, 7, 18), end)  # inclusive: change to the next date needs it
    assert w["b"] == (start, end)  # a failed village is retried from the start
    assert state.windows(["a"], tmp_path, start, end, incremental=False)["a"] == (start, end)
    assert state.statuses(tmp_path)["b"] == {"last_status": "failed", "last_reason": "boom"}


def test_last_success_never_goes_back(tmp_path):
    state.record(tmp_path, [VillageRun("a", dates=["2024-07-18"])])
    state.record(tmp_path, [VillageRun("a", dates=["2024-01-15"])])  # a backfill of older dates
    assert state.last_success(tmp_path)["a"] == dt.date(2024, 7, 18)


def test_rerun_writes_same_bytes(tmp_path):
    runs = [VillageRun("a", dates=["2024-07-18"])]
    p = state.record(tmp_path, runs)
    h = sha256_file(p)
    state.record(tmp_path, runs)
    assert sha256_file(p) == h


def test_damaged_state_is_treated_as_new(tmp_path, caplog):
    (tmp_path / "state.json").write_text("{not json")
    assert state.last_success(tmp_path) == {}
    assert "unreadable" in caplog.text


def test_output_lock_refuses_a_second_run_on_the_same_folder(tmp_path, capsys):
    """Two runs on one --out would delete each other's temporaries: the second stops at once
    with one line naming the holder, writes nothing, and the lock frees when the first ends."""
    from flows.products.atomic import OutputBusyError, output_lock
    from flows.cli import main

    with output_lock(tmp_path) as lock:
        assert lock.read_text().strip() == str(__import__("os").getpid())
        with pytest.raises(OutputBusyError, match="is writing to"):
            with output_lock(tmp_path):
                pass
        rc = main(["nightly", "--source", "demo", "--no-prefect", "--villages", "meijiang-sanjiao-pankeng",
                   "--out", str(tmp_path)])
        assert rc == 2 and "another villagewatch run" in capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == [".villagewatch.lock"]
    with output_lock(tmp_path):  # released
        pass
