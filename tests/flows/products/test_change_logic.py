"""Plain logic of flows.steps that the flow and flows.validate share (no Prefect, no demo run)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from support.indices_data import CRS, dataarray
from flows.params import Params
from flows.products.change import new_suspect_rows, water_change_polygons


def _suspects(rows):
    """UTM (EPSG:32650) boxes ``(wb_id, x0, y0, x1, y1)`` as a 4326 suspects frame, like the product."""
    gdf = gpd.GeoDataFrame({"wb_id": [r[0] for r in rows]}, geometry=[box(*r[1:]) for r in rows], crs="EPSG:32650")
    return gdf.to_crs("EPSG:4326")


def test_new_suspects_by_id_and_by_overlap():
    x, y = 500_000, 2_500_000
    before = _suspects([("wb-a", x, y, x + 100, y + 100), ("wb-b", x + 1000, y, x + 1100, y + 100)])
    after = _suspects([
        ("wb-a", x + 500, y + 500, x + 600, y + 600),   # same id (moved): not new
        ("wb-c", x + 1010, y, x + 1110, y + 100),       # new id, 90 % inside wb-b: not new
        ("wb-d", x + 1070, y, x + 1170, y + 100),       # new id, 30 % inside wb-b: new
        ("wb-e", x + 3000, y, x + 3100, y + 100),       # new id, nowhere before: new
    ])
    assert list(new_suspect_rows(before, after)["wb_id"]) == ["wb-d", "wb-e"]
    assert list(new_suspect_rows(before.iloc[:0], after)["wb_id"]) == ["wb-a", "wb-c", "wb-d", "wb-e"]
    assert len(new_suspect_rows(before, after.iloc[:0])) == 0


def test_water_change_polygons_use_the_change_minimum_not_the_water_mmu():
    a = np.zeros((40, 40), bool)
    a[5:15, 5:15] = True
    b = a.copy()
    b[5:15, 15:21] = True  # pond grew by 60 px = 6,000 m2
    b[30, 30:36] = True    # a 6-pixel (600 m2) sliver: above the 400 m2 water MMU, below 1,000 m2
    va = vb = dataarray(np.ones_like(a), name="valid")
    _, polys = water_change_polygons(dataarray(a, name="water"), dataarray(b, name="water"), va, vb, Params())
    assert list(polys["gain"]["area_m2"]) == [6000.0] and polys["gain"].crs == CRS
    assert len(polys["loss"]) == 0


def test_params_water_kwargs_keep_narrow_channels():
    """The opening is a width in metres: none at 10 m (so 10-20 m ditches stay) and at 30 m."""
    from indices import opening_radius_for

    kw = Params().water_kwargs()
    assert kw == {"method": "edge_otsu", "fallback_rule": "agreement", "fallback": 0.0, "min_area_m2": 400.0,
                  "min_pixels": 2, "opening_width_m": 1.5}
    assert Params().as_dict()["water_opening_width_m"] == 1.5
    assert opening_radius_for(kw["opening_width_m"], 10.0) == opening_radius_for(kw["opening_width_m"], 30.0) == 0
