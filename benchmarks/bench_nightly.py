"""Benchmark 3: the nightly demo flow for all villages, with and without Prefect.

``villagewatch nightly --source demo --out DIR`` (Prefect flow, ephemeral API server) and
the same with ``--no-prefect`` (plain functions), each in a fresh process and a fresh
output folder (so nothing is skipped as already done). Prefect keeps its database in a
private ``PREFECT_HOME``; one unmeasured no-op flow first creates and migrates it, as a
deployed server's database would already be. Orchestration share =
(Prefect wall - plain wall) / Prefect wall. From that database also: the flow run's own
duration and the sum of its task runs' durations.

Also a no-op Prefect flow (one trivial task) in the same mode: the fixed cost of running
any flow from the command line (imports, ephemeral API server start and stop, bookkeeping).

Stdlib only at import: ``run_all.py`` imports it to build commands and read the Prefect
database; ``python bench_nightly.py noop`` runs the no-op flow.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path


def orchestration_share(prefect_wall: float, plain_wall: float) -> float:
    """(Prefect wall - plain wall) / Prefect wall: the share of the Prefect run's wall time
    that the same work without Prefect did not need (negative: Prefect was faster)."""
    return (prefect_wall - plain_wall) / prefect_wall


def command(villagewatch: str, out: Path, *, prefect: bool, villages: str | None = None) -> list[str]:
    cmd = [villagewatch, "nightly", "--source", "demo", "--out", str(out)]
    if villages:
        cmd += ["--villages", villages]
    if not prefect:
        cmd.append("--no-prefect")
    return cmd


def ready_command(villagewatch: str, out: Path) -> list[str]:
    """The brief's readiness probe: one demo village without Prefect."""
    return command(villagewatch, out, prefect=False, villages="meijiang-sanjiao-pankeng")


def _ts(text) -> dt.datetime | None:
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return dt.datetime.fromtimestamp(text, dt.timezone.utc)
    s = str(text).replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def prefect_stats(prefect_home: Path) -> dict | None:
    """The latest top-level flow run in ``prefect_home``'s SQLite database: its duration,
    its task runs (count, summed duration, by name prefix) and its sub-flow runs."""
    db = prefect_home / "prefect.db"
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT id, name, start_time, end_time, state_type FROM flow_run "
            "WHERE parent_task_run_id IS NULL AND start_time IS NOT NULL ORDER BY start_time DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        flow_id, flow_name, f_start, f_end, f_state = row
        tasks = con.execute(
            "SELECT name, start_time, end_time, state_type FROM task_run WHERE flow_run_id = ?", (flow_id,)
        ).fetchall()
    finally:
        con.close()
    fs, fe = _ts(f_start), _ts(f_end)
    by_kind: dict[str, dict[str, float]] = {}
    total, n_done = 0.0, 0
    first_start, last_end = None, None
    for name, s, e, state in tasks:
        ts, te = _ts(s), _ts(e)
        if ts is None or te is None:
            continue
        sec = (te - ts).total_seconds()
        total += sec
        n_done += 1
        kind = str(name).split("-", 1)[0]
        k = by_kind.setdefault(kind, {"count": 0, "seconds": 0.0})
        k["count"] += 1
        k["seconds"] += sec
        first_start = ts if first_start is None or ts < first_start else first_start
        last_end = te if last_end is None or te > last_end else last_end
    return {
        "flow_run": flow_name, "state": f_state,
        "flow_seconds": (fe - fs).total_seconds() if fs and fe else None,
        "task_runs": len(tasks), "task_runs_timed": n_done, "task_seconds_sum": total,
        "task_span_seconds": (last_end - first_start).total_seconds() if first_start and last_end else None,
        "by_kind": by_kind,
    }


def noop_command(python: str) -> list[str]:
    return [python, str(Path(__file__).resolve()), "noop"]


def noop() -> None:
    """One flow with one trivial task, through the same Prefect machinery as ``nightly``."""
    from prefect import flow, task

    @task(task_run_name="noop-task")
    def nothing() -> int:
        return 1

    @flow(name="villagewatch-benchmark-noop")
    def noop_flow() -> int:
        return nothing.submit().result()

    assert noop_flow() == 1


if __name__ == "__main__":
    if sys.argv[1:] == ["noop"]:
        noop()
    else:
        raise SystemExit("usage: bench_nightly.py noop")
