"""The farmland watch's states (flows.products.alerts): a pond dug is an alert like any other, a
conversion to built or bare land is only claimed once it has lasted longer than the bare phases
of the crop calendar."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from flows.params import Params
from flows.products.alerts import _farmland_status
from indices import alerts as A


def test_built_or_bare_is_claimed_only_after_it_lasts():
    dates = pd.date_range("2025-01-01", periods=12, freq="5D")  # 55 days
    n = len(dates)
    built = np.zeros((n, 1, 3), bool)
    pond = np.zeros((n, 1, 3), bool)
    built[2:6, 0, 0] = True  # bare for 15 days, then green again: a plot between crops
    built[1:, 0, 1] = True  # bare from the second pass on: 50 days by the last
    pond[3:, 0, 2] = True  # open water from the fourth pass: a pond dug
    coords = {"time": dates, "y": [0.0], "x": [0.0, 1.0, 2.0]}
    da = lambda a: xr.DataArray(a, dims=("time", "y", "x"), coords=coords)  # noqa: E731
    ok = da(np.ones((n, 1, 3), bool))
    an = xr.Dataset({"farmland_built": da(built), "farmland_built_assessed": ok,
                     "farmland_pond": da(pond), "farmland_pond_assessed": ok})
    st = _farmland_status(an, Params().change)
    assert Params().change.farmland_min_days == 45
    assert st["status"].values[0].tolist() == [A.NONE, A.CONFIRMED, A.CONFIRMED]
    assert str(st["first"].values[0, 1])[:10] == "2025-01-06"  # its first pass, confirmed on the next
    assert str(st["confirmed"].values[0, 1])[:10] == "2025-01-11"
    assert str(st["first"].values[0, 2])[:10] == "2025-01-16" and str(st["confirmed"].values[0, 2])[:10] == "2025-01-21"
    # a shorter watch: the 50-day bare plot is not yet claimed after 40 days
    short = _farmland_status(an.isel(time=slice(0, 9)), Params().change)
    assert short["status"].values[0].tolist() == [A.NONE, A.NONE, A.CONFIRMED]
