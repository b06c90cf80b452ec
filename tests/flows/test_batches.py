"""Batches of small villages (flows.batches): the task runs of a night are bounded by batches,
not villages x dates (counted from the plan); a batch runs every step after the steps it
needs, date by date across villages; a failing village stops alone; and a batch writes the
same bytes and run records as the villages run one by one (STAC villages sharing a tile)."""
from __future__ import annotations

import datetime as dt
import math
import threading
from pathlib import Path

import pytest

from aoi.county import CountySpec, make_county
from flows import batches, scenes
from flows.execute_plain import run_village
from flows.params import Params
from flows.publish import publish
from flows.plan import ChangeStep, DateStep, NightPlan, TableStep, VillagePlan, Window
from sensing.stac import StacSource

from support.flow_items import s2_items, village_geometry
from support.stac_fixtures import village, write_item

WINDOW = (dt.date(2020, 6, 1), dt.date(2020, 7, 31))


@pytest.fixture(scope="module")
def county300():
    return make_county(CountySpec(villages=300, seed=15)).villages


def _plan(villages, window=WINDOW) -> NightPlan:
    return NightPlan.build(villages, {v.id: window for v in villages})


def test_task_runs_are_bounded_by_batches_not_villages_times_dates(county300):
    for n in (11, 100, 300):
        plan = _plan(county300[:n])
        runs = batches.task_runs(plan)
        assert runs == math.ceil(n / batches.BATCH_VILLAGES)  # every county village is small
    # without batches the same night was a discovery and (dates + changes + watches + table)
    # tasks per village: 300 villages of 5 dates are 300 x (1 + 5 + 4 + 2) = 3,600 task runs
    assert batches.task_runs(_plan(county300)) == 10


def test_batches_are_even_neighbourhoods_and_large_villages_stay_apart(county300):
    bs = batches.make_batches(county300)
    assert [len(b.villages) for b in bs] == [30] * 10
    assert sorted(v.id for b in bs for v in b.villages) == sorted(v.id for v in county300)
    # neighbours: a batch's villages lie closer together than the county's
    def spread(vs):
        xs = [v.geometry.centroid.x for v in vs]
        ys = [v.geometry.centroid.y for v in vs]
        return (max(xs) - min(xs)) * (max(ys) - min(ys))
    assert max(spread(b.villages) for b in bs) < spread(county300) / 3
    big = village(county300[0].geometry.buffer(0.1), "district")  # ~ 20 x 20 km: not small
    assert batches.bbox_km2(big) > batches.SMALL_VILLAGE_KM2 and not batches.is_small(big)
    small, rest = batches.split(_plan([big, *county300[:3]]))
    assert [v.id for v in small] == [v.id for v in county300[:3]] and [v.id for v in rest.villages] == ["district"]
    assert batches.task_runs(_plan([big, *county300[:3]])) == 1 + 1  # one batch; the district's discovery


def _vplan(vid: str, dates: tuple[str, ...]) -> VillagePlan:
    v = village(village_geometry(), vid)
    return VillagePlan(v, Window(*WINDOW), {"main": dates})


def test_steps_run_after_their_needs_date_by_date_across_villages():
    plans = [_vplan("a", ("2020-06-16", "2020-07-16")), _vplan("b", ("2020-06-11", "2020-07-01", "2020-07-21"))]
    order = [s for _, s in batches.step_order(plans, {0, 1})]  # both share tile reads
    dates = [s.date for s in order if isinstance(s, DateStep)]
    assert dates == sorted(dates)
    alone = [s.village_id for _, s in batches.step_order(plans)]  # nothing shared: village by village
    assert alone == sorted(alone) and len(alone) == len(order)
    seen: list[str] = []
    lock = threading.Lock()

    def call(step, vp):
        with lock:
            assert all(n in seen for n in step.needs), f"{step.id} ran before {step.needs}"
            seen.append(step.id)
        return []

    batches.run_steps(plans, call, threads=2, on_error=lambda pi, exc: pytest.fail(str(exc)))
    assert sorted(seen) == sorted(s.id for vp in plans for s in vp.steps())


def test_steps_and_numpy_dates_run_in_the_callers_context():
    """A batch's threads (and the NumPy date pool) see the caller's context variables, which is
    how Prefect knows the task run a log line belongs to."""
    import contextvars

    import numpy as np
    import xarray as xr

    run = contextvars.ContextVar("run", default="none")
    run.set("task-run-1")
    plans = [_vplan("a", ("2020-06-16", "2020-07-16"))]
    seen: set[str] = set()
    batches.run_steps(plans, lambda step, vp: seen.add(run.get()) or [], threads=2,
                      on_error=lambda pi, exc: pytest.fail(str(exc)))
    assert seen == {"task-run-1"}
    small = xr.Dataset({"red": (("y", "x"), np.zeros((4, 4), "float32"))})  # a NumPy-route date
    assert scenes.compute_route(small)["engine"] == "numpy"
    assert scenes.compute_date(small, run.get) == "task-run-1"

def test_a_failing_village_stops_alone():
    plans = [_vplan("a", ("2020-06-16", "2020-07-16")), _vplan("b", ("2020-06-11", "2020-07-01"))]
    failing = next(s for s in plans[0].steps() if isinstance(s, DateStep))
    ran, errors = [], {}

    def call(step, vp):
        if step.id == failing.id:
            raise OSError("unreadable")
        ran.append(step.id)
        return []

    batches.run_steps(plans, call, threads=2, on_error=lambda pi, exc: errors.setdefault(pi, str(exc)))
    assert errors == {0: "unreadable"}
    after = {failing.id}  # every step of a that waits for the failed one, however indirectly
    for s in plans[0].steps():
        if after & set(s.needs):
            after.add(s.id)
    assert len(after) > 3 and not after & set(ran)
    assert {s.id for s in plans[1].steps()} <= set(ran)  # b finished


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_batch_writes_the_bytes_of_villages_run_one_by_one(tmp_path, caplog):
    for it in s2_items(tmp_path / "cogs"):
        write_item(tmp_path / "items", it)
    src = StacSource(url=str(tmp_path / "items"))
    vs = [village(village_geometry(r, c), vid) for vid, (r, c) in
          {"va": ((47, 81), (49, 83)), "vb": ((81, 131), (50, 90)), "vc": ((61, 101), (91, 133))}.items()]
    runs = batches.run_batch(vs, _plan(vs), src, tmp_path / "batched", Params())
    scenes.clear()  # the villages' own loads, not the batch's cached scenes
    alone = [run_village(src, v, *WINDOW, tmp_path / "alone", Params()) for v in vs]
    assert [r.summary_row() for r in runs] == [r.summary_row() for r in alone]
    assert all(r.status == "ok" and r.dates == ["2020-06-16", "2020-07-16"] for r in runs)
    assert [r.dropped_dates for r in runs] == [r.dropped_dates for r in alone]
    for folder, rs in (("batched", runs), ("alone", alone)):  # the batch drew its pictures already
        publish(tmp_path / folder, vs, rs)
    batched, one_by_one = _files(tmp_path / "batched"), _files(tmp_path / "alone")
    assert len(batched) > 3 * 20 and batched.keys() == one_by_one.keys()
    assert sum(k.endswith("quicklook.png") for k in batched) == 3 * 2 + 3  # dates and change pairs
    assert "publishing during the night failed" not in caplog.text
    assert [k for k in batched if batched[k] != one_by_one[k]] == []


def test_a_batch_searches_a_stac_api_once_and_writes_the_bytes_of_one_by_one(tmp_path):
    """Against the replayed Earth Search API: one search over the batch's area (not one per
    village), the same products as each village's own search and load."""
    from support.flow_items import search_page
    from support.stac_fixtures import CASSETTES, need
    from support.stac_replay import ReplayServer

    es = "https://earth-search.aws.element84.com/v1"
    items = s2_items(tmp_path / "cogs")
    vs = [village(village_geometry(r, c), vid) for vid, (r, c) in
          {"va": ((47, 81), (49, 83)), "vb": ((81, 131), (50, 90)), "vc": ((61, 101), (91, 133))}.items()]
    with ReplayServer(need(CASSETTES / "TestCLISearch.test_filter[inprocess].yaml")) as srv:
        srv.add_route("POST", f"{es}/search", search_page(items))
        src = StacSource(url=srv.url_for(es), max_retries=2, backoff=0.05, timeout=5.0)
        runs = batches.run_batch(vs, _plan(vs), src, tmp_path / "batched", Params(), publish=False)
        batch_searches = _night_searches(srv)
        scenes.clear()  # the villages' own searches and loads
        alone = [run_village(src, v, *WINDOW, tmp_path / "alone", Params()) for v in vs]
        all_searches = _night_searches(srv)
    assert batch_searches == 1 and all_searches - batch_searches == 3
    assert [r.summary_row() for r in runs] == [r.summary_row() for r in alone]
    batched, one_by_one = _files(tmp_path / "batched"), _files(tmp_path / "alone")
    assert batched.keys() == one_by_one.keys() and [k for k in batched if batched[k] != one_by_one[k]] == []


def _night_searches(srv) -> int:
    """The API searches of the night's window (not of an earlier history window)."""
    return sum(r.method == "POST" and str((r.body or {}).get("datetime", "")).startswith(WINDOW[0].isoformat())
               for r in srv.requests)
