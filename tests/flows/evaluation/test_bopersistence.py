"""Persistent suspects scored per water body (flows.evaluation.bopersistence), on hand-made
bodies and truth: counts worked out by hand."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from flows.evaluation import bopersistence as BP
from flows.evaluation.common import body_labels

CRS = "EPSG:32649"
N = 20  # 20 x 20 pixels of 10 m: a body of 5 x 5 pixels is 2,500 m2


def _like():
    da = xr.DataArray(np.zeros((N, N)), dims=("y", "x"), coords={"y": 1000.0 - 10 * np.arange(N) - 5,
                                                                   "x": 10 * np.arange(N) + 5.0})
    return da.rio.write_crs(CRS)


def _bodies(statuses):
    """Two 5 x 5 bodies: wb-a (rows 0-4, cols 0-4) and wb-b (rows 10-14, cols 10-14)."""
    geoms = [box(0, 950, 50, 1000), box(100, 850, 150, 900)]
    return gpd.GeoDataFrame({"wb_id": ["wb-a", "wb-b"], "status": statuses, "area_m2": [2500.0, 2500.0]},
                            geometry=geoms, crs=CRS)


def _truth(a, b):
    t = np.zeros((N, N), bool)
    t[0:5, 0:5] = a
    t[10:15, 10:15] = b
    return t


def test_persistent_suspects_scored_by_hand():
    """Dates 1-3. wb-a is black-odorous on all three and flagged on all: persistent on dates 2
    and 3, correct. wb-b is ordinary on date 1, turns black-odorous on date 2 and is flagged on
    dates 1, 2 and 3: on date 2 it is persistent (dates 1 and 2 voted) but the truth did not say
    black-odorous on date 1, so it is wrong there; on date 3 dates 1-3 vote, date 1 among them:
    wrong again. Recall: date 2 has 2 truth objects, both covered by
    persistent suspects; date 3 the same. Date 1 is not scored (no earlier date)."""
    like = _like()
    sus = "suspect_black_odorous"
    dates = ["2024-01-01", "2024-02-01", "2024-03-01"]
    bodies = {d: _bodies([sus, sus]) for d in dates}
    truth = {dates[0]: _truth(True, False), dates[1]: _truth(True, True), dates[2]: _truth(True, True)}
    valid = np.ones((N, N), bool)
    total = BP.EMPTY
    history = []
    for d in dates:
        lab = body_labels(bodies[d], like)
        s = BP.persistent_scores(bodies[d], d, history, lab, truth, valid, window=3, min_flags=2, min_pixels_truth=20)
        if d == dates[0]:
            assert s == BP.EMPTY
        total = total + s
        history.append((d, bodies[d]))
    assert (total.n_pred, total.n_pred_correct, total.n_truth, total.n_truth_found) == (4, 2, 4, 4)


def test_watch_suspects_and_small_bodies_do_not_count():
    """A body flagged once in three dates is a watch, never persistent: nothing predicted, its
    truth object missed; a persistent body under 2,000 m2 is not on the national list's score."""
    like = _like()
    sus, orde = "suspect_black_odorous", "ordinary"
    dates = ["2024-01-01", "2024-02-01", "2024-03-01"]
    seq = {dates[0]: [orde, orde], dates[1]: [orde, orde], dates[2]: [sus, orde]}
    truth = {d: _truth(True, False) for d in dates}
    valid = np.ones((N, N), bool)
    history, total = [], BP.EMPTY
    for d in dates:
        b = _bodies(seq[d])
        total = total + BP.persistent_scores(b, d, history, body_labels(b, like), truth, valid, window=3, min_flags=2,
                                             min_pixels_truth=20)
        history.append((d, b))
    assert (total.n_pred, total.n_truth, total.n_truth_found) == (0, 2, 0)
    small = _bodies([sus, orde]).assign(area_m2=[1500.0, 2500.0])
    hist = [(dates[0], small), (dates[1], small)]
    s = BP.persistent_scores(small, dates[2], hist, body_labels(small, like), truth, valid, window=3, min_flags=2,
                             min_pixels_truth=20)
    assert s.n_pred == 0 and s.n_truth == 1
