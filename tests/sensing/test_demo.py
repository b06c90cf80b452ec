"""The demo source: Scene contract, determinism, the time axis (two years every 5 days, a
Guangdong cloud climatology, planted changes at known dates), truth consistent with the pixels
under published indices (NDVI, MNDWI, NDWI, BOI) through the crop calendar (fallow, flooded
transplanting, ripe rice, harvest), clouds vs SCL, lazy bands, drone orthomosaics."""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from aoi import grid_for
from sensing.demo import DEFAULT_DATES, S2_BANDS, DemoSource, demo_villages_with_drone
from sensing.demo import source as demo_source
from sensing.demo import timeline
from sensing.demo.source import clear_cache
from sensing.base import CroplandLayer, Source
from sensing.errors import NoDataError
from sensing.scene import check_scene

from support.paths import REPO  # noqa: E402
from support.demo_scenes import ALL, HONGWEI, PANKENG, PLAIN, SEASONS, WINDOW, _digest  # noqa: E402
BOI_T = 0.065  # Yao et al. 2019, on Rrs
FOREST, PADDY, CROP, BARE, RIVER, POND, ALGAL, BLACK = 1, 2, 3, 5, 10, 11, 12, 13


@pytest.fixture(scope="module")
def src() -> DemoSource:
    return DemoSource()


@pytest.fixture(scope="module")
def scene(src):
    return src.load(PANKENG, *WINDOW)


def _indices(s) -> dict:
    b = {k: s[k].values for k in s.data_vars}
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (b["nir"] - b["red"]) / (b["nir"] + b["red"])
        mndwi = (b["green"] - b["swir16"]) / (b["green"] + b["swir16"])  # Xu 2006
        ndwi = (b["green"] - b["nir"]) / (b["green"] + b["nir"])  # McFeeters 1996
        rrs = {k: b[k] / np.pi for k in ("blue", "green", "red")}
        boi = (rrs["green"] - rrs["red"]) / (rrs["blue"] + rrs["green"] + rrs["red"])  # Yao et al. 2019
    return {"bands": b, "ndvi": ndvi, "mndwi": mndwi, "ndwi": ndwi, "boi": boi, "scene": s}


@pytest.fixture(scope="module")
def data(scene):
    """The default window's bands (NumPy) and the indices the tests use."""
    return _indices(scene.compute())


@pytest.fixture(scope="module")
def truth(src):
    return src.truth(PANKENG, *WINDOW)


@pytest.fixture(scope="module")
def seasons():
    """Cloud-free passes across the crop calendar, their indices and truth."""
    clear = DemoSource(cloud_cover=0.0)
    s = clear.load(PANKENG, *ALL)
    s = s.isel(time=[list(DEFAULT_DATES).index(d) for d in SEASONS]).compute()
    t = clear.truth(PANKENG).sel(time=list(SEASONS))
    return {**_indices(s), "truth": t, "lc": t.land_cover.values}


# --------------------------------------------------------------------------- contract
def test_scene_follows_the_contract(scene, src):
    check_scene(scene)
    grid = grid_for(PANKENG, 10.0)
    window = [d for d in DEFAULT_DATES if WINDOW[0].isoformat() <= d <= WINDOW[1].isoformat()]
    assert tuple(scene.data_vars) == S2_BANDS == (
        "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22")
    assert all(scene[b].dtype == np.float32 and scene[b].chunks is not None for b in S2_BANDS)
    # coordinates stay in memory (``make_scene`` chunks the bands only): reading the item ids
    # or valid fractions runs no Dask graph
    assert [c for c in scene.coords if scene[c].chunks is not None] == []
    assert scene.sizes == {"time": 7, "y": grid.height, "x": grid.width}
    assert str(scene.rio.crs) == grid.crs == "EPSG:32650"
    assert tuple(scene.rio.transform())[:6] == tuple(grid.transform)[:6]
    np.testing.assert_allclose(scene["x"].values, grid.coords()[1])
    assert [str(t)[:10] for t in scene["time"].values] == window
    assert list(scene["item_id"].values) == [f"DEMO_S2_meijiang-sanjiao-pankeng_{d.replace('-', '')}" for d in window]
    a = scene.attrs
    assert a["sensor"] == "sentinel-2-l2a" and a["demo"] is True and a["source"] == "demo"
    assert a["seed"] == 2024 and a["village_id"] == PANKENG.id
    assert any("Kokaly" in c for c in a["spectra_sources"]) and any("Yao" in c for c in a["spectra_sources"])
    assert src.kind == "demo" and hash(src) == hash(DemoSource())
    assert isinstance(src, Source)
    # the demo's truth is no product input: the source offers no cropland layer
    assert not isinstance(src, CroplandLayer)
    json.dumps(src.describe())


def test_reflectance_is_physical(data):
    for name, arr in data["bands"].items():
        v = arr[np.isfinite(arr)]
        assert v.min() > 0 and v.max() < 0.7, name


def test_bands_are_lazy_and_the_same_whichever_are_asked(src):
    s = src.load(PANKENG, *ALL)
    demo_source._render.cache_clear()
    one = s["nir"].isel(time=[100]).compute(scheduler="sync").values
    info = demo_source._render.cache_info()
    assert info.misses == 1 and info.currsize == 1  # one date, one band rendered of 146 x 10
    both = s[["red", "nir"]].isel(time=[100]).compute(scheduler="sync")
    np.testing.assert_array_equal(both["nir"].values, one)


# --------------------------------------------------------------------------- time axis
def test_two_years_every_five_days():
    d = [dt.date.fromisoformat(x) for x in DEFAULT_DATES]
    assert len(d) == 146 and d[0] == dt.date(2024, 1, 2) and d[-1] == dt.date(2025, 12, 27)
    assert {(b - a).days for a, b in zip(d, d[1:])} == {5}
    planted = DemoSource().planted
    assert set(planted) == {"cleared_patch", "turning_pond", "new_pond"}
    for day in planted.values():  # between passes, inside the default window, two passes after it at least
        assert day.isoformat() not in DEFAULT_DATES
        after = [x for x in d if day < x <= timeline.DEFAULT_WINDOW[1]]
        assert day > timeline.DEFAULT_WINDOW[0] and len(after) >= 3


def test_cloud_climatology_of_guangdong(src):
    # the mean cloud share at mid-month is the table's (1 - clear sky), interpolated in between
    for m, clear in enumerate(timeline.CLEAR_SKY, start=1):
        assert timeline.mean_cloud(dt.date(2025, m, 15)) == pytest.approx(1 - clear)
    # a pass's draw has the month's mean: Beta(m k, (1 - m) k)
    rng = np.random.default_rng(0)
    draws = [timeline.draw_cloud_cover(rng, dt.date(2025, 6, 15)) for _ in range(4000)]
    assert np.mean(draws) == pytest.approx(1 - timeline.CLEAR_SKY[5], abs=0.02)
    # usable passes (a fifth of the village clear): most from October to January, few April-September
    s = src.load(PANKENG, *ALL)
    usable = collections.defaultdict(list)
    for t, f in zip(s["time"].values, s["valid_fraction"].values):
        usable[int(str(t)[5:7])].append(f >= 0.2)
    dry = np.mean([np.mean(usable[m]) for m in (10, 11, 12, 1)])
    wet = np.mean([np.mean(usable[m]) for m in (4, 5, 6, 7, 8, 9)])
    assert dry >= 0.6 and wet <= 0.35, (dry, wet)  # measured 0.76 and 0.29
    n = sum(f >= 0.2 for f in s["valid_fraction"].values)
    assert 40 <= n <= 90  # ~73 passes a year, about half of them usable over the two years


def test_window_selects_dates_and_outside_is_no_data(src):
    one = src.load(PANKENG, dt.date(2025, 11, 17), dt.date(2025, 11, 17))
    assert [str(t)[:10] for t in one["time"].values] == ["2025-11-17"]
    two = src.load(PANKENG, "2025-11-12", dt.datetime(2025, 11, 22, 23))
    assert two.sizes["time"] == 3
    with pytest.raises(NoDataError, match=r"meijiang-sanjiao-pankeng.*2023-01-01.*2023-12-31"):
        src.load(PANKENG, dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    with pytest.raises(NoDataError):
        src.load(PANKENG, dt.date(2025, 11, 18), dt.date(2025, 11, 21))


def test_options_are_checked():
    with pytest.raises(ValueError, match="seed"):
        DemoSource(seed=-1)
    with pytest.raises(ValueError, match="not YYYY-MM-DD"):
        DemoSource(dates=("2024-13-01",))
    with pytest.raises(ValueError, match="unknown"):
        DemoSource(sensor="spot-7")
    with pytest.raises(ValueError, match="cloud_cover"):
        DemoSource(cloud_cover=0.9)
    with pytest.raises(TypeError):
        DemoSource(2024)  # keyword-only
    assert DemoSource(dates=["2024-05-02", "2024-03-01"]).dates == ("2024-03-01", "2024-05-02")
    assert DemoSource().cloud_cover is None and DemoSource(cloud_cover=0.1).cloud_cover == 0.1


def test_other_sensor_and_dates():
    src = DemoSource(sensor="landsat-c2-l2", resolution=30.0, dates=("2024-03-01", "2024-08-01"), cloud_cover=0.0)
    s = src.load(PLAIN, *ALL)
    check_scene(s)
    assert tuple(s.data_vars) == ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
    assert s.rio.resolution()[0] == 30.0 and s["item_id"].values[0].startswith("DEMO_LC_")
    assert float(s["valid_fraction"].min()) == 1.0 and not np.isnan(s["red"].values).any()
    t = src.truth(PLAIN)
    # explicit dates: the planted changes all happen the day after the second pass (here the first)
    assert (t.attrs["change_from"], t.attrs["change_to"]) == ("2024-03-01", "2024-08-01")
    assert set(t.attrs["planted"].values()) == {"2024-03-02"}


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_different_seed_different_layout(data, truth):
    first = _digest(data["scene"])
    clear_cache()
    again = DemoSource(seed=2024).load(PANKENG, *WINDOW)
    assert _digest(again.compute()) == first
    assert DemoSource(seed=2024).truth(PANKENG, *WINDOW).land_cover.equals(truth.land_cover)
    other = DemoSource(seed=7).truth(PANKENG, *WINDOW)
    assert (other.land_cover.values != truth.land_cover.values).mean() > 0.3
    assert (other.water.values[0] != truth.water.values[0]).sum() > 1000


def test_same_bytes_in_a_fresh_process_with_another_hash_seed():
    """No salted hash(): a new interpreter with a different PYTHONHASHSEED renders the same."""
    code = (
        "import sys; sys.path.insert(0, {tests!r});"
        "from support.demo_scenes import PLAIN, WINDOW, _digest; from sensing.demo import DemoSource;"
        "print(_digest(DemoSource(seed=11).load(PLAIN, *WINDOW).compute()))"
    ).format(tests=str(REPO / "tests"))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    here = _digest(DemoSource(seed=11).load(PLAIN, *WINDOW).compute())
    assert out.stdout.strip().splitlines()[-1] == here


# --------------------------------------------------------------------------- the crop calendar
def test_forest_evergreen_and_double_rice(seasons):
    lc, ndvi = seasons["lc"], seasons["ndvi"]
    i = {d: SEASONS.index(d) for d in SEASONS}
    for t in range(lc.shape[0]):  # evergreen: high all year, a small swing
        assert np.nanmean(ndvi[t][lc[t] == FOREST]) > 0.7
    forest = [np.nanmean(ndvi[t][lc[t] == FOREST]) for t in range(lc.shape[0])]
    assert max(forest) - min(forest) < 0.05

    def paddy(d):
        return np.nanmean(ndvi[i[d]][lc[i[d]] == PADDY])

    # winter fallow low, both crops ripe high, the November harvest back down
    assert paddy("2024-01-07") < 0.45 and paddy("2024-07-05") > 0.65 and paddy("2024-10-08") > 0.65
    assert paddy("2024-10-08") - paddy("2024-11-27") > 0.3


def test_paddies_flood_at_transplanting(seasons):
    """Puddled paddies hold a few centimetres of water in April and early August: truth water,
    MNDWI > 0 (SWIR absorbed in millimetres; Xu 2006) but NDWI below 0 and NDVI of seedlings
    over mud (the NIR passes a shallow layer): not open water (McFeeters 1996) like a pond."""
    t, lc = seasons["truth"], seasons["lc"]
    flooded = t.flooded_paddy.values
    for d in ("2024-04-11", "2024-08-09"):
        k = SEASONS.index(d)
        share = flooded[k][lc[k] == PADDY].mean()
        assert share > 0.5, (d, share)
        f = flooded[k]
        assert (seasons["mndwi"][k][f] > 0).mean() > 0.95 and np.median(seasons["mndwi"][k][f]) > 0.25
        assert (seasons["ndwi"][k][f] < 0).mean() > 0.95
        # seedlings over muddy water: NDVI 0-0.3 (Xiao et al. 2005), above open water's < 0
        assert np.nanmean(seasons["ndvi"][k][f]) < 0.3 and (seasons["ndvi"][k][f] > -0.1).mean() > 0.95
        ponds = np.isin(lc[k], (POND, ALGAL))
        assert (seasons["ndwi"][k][ponds] > 0).mean() > 0.95
    for d in ("2024-01-07", "2024-07-05", "2024-10-08", "2024-11-27"):
        assert not flooded[SEASONS.index(d)].any()
    assert np.array_equal(t.water.values, np.isin(lc, (RIVER, POND, ALGAL, BLACK)) | flooded)


def test_the_crop_calendar_shifts_between_years():
    """Farmers do not harvest on the same day every year: the same pass of two years differs
    on cropland (so a same-season comparison alone would call the harvest a change)."""
    clear = DemoSource(cloud_cover=0.0)
    s = clear.load(PANKENG, *ALL).isel(time=[DEFAULT_DATES.index("2024-11-12"), DEFAULT_DATES.index("2025-11-12")])
    ind = _indices(s[["red", "nir", "green", "swir16", "blue"]].compute())["ndvi"]
    lc = clear.truth(PANKENG, "2024-11-12", "2024-11-12").land_cover.values[0]
    diff = np.abs(ind[1] - ind[0])
    assert (diff[lc == PADDY] > 0.1).mean() > 0.2
    assert (diff[lc == FOREST] > 0.1).mean() < 0.01


# --------------------------------------------------------------------------- truth vs pixels
def test_mndwi_separates_truth_water(data, truth):
    clear = ~truth.cloud.values
    water = truth.water.values
    m = data["mndwi"]
    assert (m[water & clear] > 0).mean() >= 0.95
    assert (m[~water & clear] < 0).mean() >= 0.95
    assert water[0].sum() * 100 > 100_000  # > 10 ha of water in the village scene


def test_boi_separates_black_odorous_water_from_ordinary(data, truth):
    lc = truth.land_cover.values
    clear = ~truth.cloud.values
    boi, b = data["boi"], data["bands"]

    def where(code):
        m = (lc == code) & clear
        assert m.sum() > 50, code
        return m

    black, clear_w, algal, river = where(BLACK), where(POND), where(ALGAL), where(RIVER)
    assert np.nanmean(boi[black]) < BOI_T
    assert np.nanmean(boi[clear_w]) >= BOI_T and np.nanmean(boi[algal]) >= BOI_T
    assert np.nanpercentile(boi[black], 90) < BOI_T and np.nanpercentile(boi[clear_w], 10) >= BOI_T
    # turbid river: BOI low too (one-sided BOI's false positive) but bright, not dark
    assert np.nanmean(boi[river]) < BOI_T
    for band in ("green", "red"):
        assert np.nanmean(b[band][river]) > 2.5 * np.nanmean(b[band][black]), band
    # BOI is a ratio: the same on rho as on Rrs = rho / pi
    with np.errstate(invalid="ignore"):
        boi_rho = (b["green"] - b["red"]) / (b["blue"] + b["green"] + b["red"])
    np.testing.assert_allclose(boi_rho[black], boi[black], atol=1e-6)
    assert truth.black_odorous.values.sum() > 0
    assert not (truth.black_odorous.values & ~truth.water.values).any()


def test_planted_changes_happen_on_their_dates(seasons, src):
    t, lc = seasons["truth"], seasons["lc"]
    planted = src.truth(PANKENG, *WINDOW).attrs["planted"]
    assert planted == {"vegetation_loss": "2025-11-09", "became_black_odorous": "2025-11-10", "water_gain": "2025-11-14"}
    assert src.change_dates("vegetation_loss") == ("2025-11-07", "2025-11-12")
    assert src.change_dates("water_gain") == ("2025-11-12", "2025-11-17")
    loss, gain, turned = t.vegetation_loss.values, t.water_gain.values, t.became_black_odorous.values
    assert loss.sum() * 100 >= 20_000 and gain.sum() * 100 >= 5_000 and turned.sum() * 100 >= 5_000
    assert (t.cropland.values[gain]).mean() > 0.6 and t.forest.values[loss].all()
    k = {d: SEASONS.index(d) for d in SEASONS}
    assert (lc[k["2025-11-07"]][loss] == FOREST).all() and (lc[k["2025-11-12"]][loss] == BARE).all()
    assert (lc[k["2025-11-12"]][gain] == CROP).all() and (lc[k["2025-11-17"]][gain] == POND).all()
    assert np.isin(lc[k["2025-11-07"]][turned], (POND, ALGAL)).all() and (lc[k["2025-11-12"]][turned] == BLACK).all()
    # nothing planted changes in the first year
    assert (lc[0][loss] == FOREST).all() and (lc[0][gain] == CROP).all()
    ndvi, mndwi, boi = seasons["ndvi"], seasons["mndwi"], seasons["boi"]
    assert np.nanmean(ndvi[k["2025-11-07"]][loss]) - np.nanmean(ndvi[k["2025-11-12"]][loss]) > 0.3
    assert np.nanmean(mndwi[k["2025-11-12"]][gain]) < 0 < np.nanmean(mndwi[k["2025-11-17"]][gain])
    assert np.nanmean(boi[k["2025-11-07"]][turned]) >= BOI_T > np.nanmean(boi[k["2025-11-12"]][turned])


def test_climatology_clouds_cover_anything_a_fixed_cover_protects_the_planted_areas():
    t = DemoSource().truth(PANKENG)
    planted = t.vegetation_loss.values | t.water_gain.values | t.became_black_odorous.values
    assert (t.cloud.values[:, planted].mean(axis=1) > 0.5).any()  # hidden on some passes
    fixed = DemoSource(cloud_cover=0.3).truth(PANKENG, *WINDOW)
    assert not fixed.cloud.values[:, planted].any() and fixed.cloud.values.any()


def test_cloud_nans_match_scl(data, truth, src, scene):
    scl = src.scl(PANKENG, *WINDOW)
    assert scl.dtype == np.uint8 and scl.dims == ("time", "y", "x") and scl.sizes["time"] == 7
    assert set(np.unique(scl.values)) <= {3, 4, 5, 6, 8, 9}
    masked = np.isin(scl.values, (3, 8, 9))
    for name, arr in data["bands"].items():
        assert np.array_equal(np.isnan(arr), masked), name
    # the project's SCL rule (sensing.masking) gives exactly the NaN pattern
    from sensing.masking import scl_valid

    assert np.array_equal(scl_valid(scl).values, ~np.isnan(data["bands"]["red"]))
    assert np.array_equal(truth.cloud.values, masked)
    assert (scl.values == 3).any() and (scl.values == 9).any()  # clouds cast shadows
    # SCL water = truth water where clear
    clear = ~masked
    assert np.array_equal((scl.values == 6)[clear], truth.water.values[clear])
    # valid fraction = clear share of the village polygon (from the cloud geometry: within a pixel's edge)
    from sensing.masking import aoi_mask

    inside = aoi_mask(PANKENG.geometry, grid_for(PANKENG, 10.0)).values
    expect = [(~masked[t] & inside).sum() / inside.sum() for t in range(masked.shape[0])]
    np.testing.assert_allclose(scene["valid_fraction"].values, expect, atol=0.005)


def test_ponds_have_rural_sizes(src):
    import math

    layout = src.layout(PANKENG)
    areas = np.array([f.geometry.area for f in layout.features if f.name.startswith(("pond_", "fishpond_"))])
    assert len(areas) >= 10
    typical = (areas >= 2_000) & (areas <= 20_000)
    assert typical.mean() >= 0.6 and 2_000 <= np.median(areas) <= 20_000
    assert areas.max() < 80_000 and not math.isnan(areas.sum())


# --------------------------------------------------------------------------- drone
def test_drone_orthomosaics(src):
    with_drone = demo_villages_with_drone()
    assert len(with_drone) >= 2 and PANKENG.id in with_drone and HONGWEI.id in with_drone
    assert src.drone(PLAIN) is None and src.drone_truth(PLAIN) is None
    for v in (PANKENG, HONGWEI):
        d = src.drone(v)
        check_scene(d)
        assert set(d.data_vars) == {"red", "green", "blue"}
        assert d.attrs["sensor"] == "drone-rgb" and d.attrs["demo"] is True
        assert d.sizes["time"] == 1 and d.sizes["y"] <= 1000 and d.sizes["x"] <= 1000
        res = abs(d.rio.resolution()[0])
        assert res <= 0.5 and d.sizes["x"] * res == 400.0
        assert str(d.rio.crs) == grid_for(v, 10.0).crs
        assert d["item_id"].values[0].startswith(f"DEMO_DRONE_{v.id}_")
        left, bottom, right, top = grid_for(v, 10.0).bounds
        dl, db, dr, dt_ = d.rio.bounds()
        assert left <= dl and dr <= right and bottom <= db and dt_ <= top
        tr = src.drone_truth(v)
        assert tr.water.shape == (1, d.sizes["y"], d.sizes["x"])
        black = tr.black_odorous.values[0]
        ordinary = tr.water.values[0] & ~black
        assert black.sum() * res * res > 5_000 and ordinary.sum() * res * res > 1_000
        x = d.compute()
        g, rd, bl = (x[k].values[0] for k in ("green", "red", "blue"))
        boi = (g - rd) / (bl + g + rd)
        assert np.nanmean(boi[black]) < BOI_T and np.nanmean(boi[ordinary & (tr.land_cover.values[0] != 10)]) >= BOI_T
        assert not np.isnan(g).any()


def test_drone_is_an_extra_stream_within_the_window(src):
    date = dt.date.fromisoformat(str(src.drone(PANKENG)["time"].values[0])[:10])
    turned = src.change_dates("became_black_odorous")[1]
    assert date == dt.date.fromisoformat(turned) + dt.timedelta(days=2)  # shows the black pond
    assert WINDOW[0] <= date <= WINDOW[1]
    assert src.extra_scenes(PANKENG, *WINDOW) == {}  # opt-in
    src = DemoSource(drone_stream=True)
    assert set(src.extra_scenes(PANKENG, *WINDOW)) == {"drone"}
    assert src.extra_scenes(PANKENG, dt.date(2024, 1, 1), dt.date(2024, 3, 1)) == {}
    assert src.extra_scenes(PLAIN, *WINDOW) == {}


# --------------------------------------------------------------------------- every village
def _registry():
    try:
        from aoi.registry import load_villages
    except ImportError:
        pytest.skip("aoi.registry is not available yet")
    villages = load_villages()
    if not villages:
        pytest.skip("the village registry is empty")
    return villages


def test_every_registry_village_renders(src):
    villages = _registry()
    timings = {}
    for v in villages:
        t0 = time.perf_counter()
        s = src.load(v, *WINDOW).compute()
        timings[v.id] = time.perf_counter() - t0
        check_scene(s, require_dask=False)
        tr = src.truth(v, *WINDOW)
        assert tr.vegetation_loss.sum() * 100 >= 20_000 and tr.water_gain.sum() * 100 >= 5_000
        # the clear season: most of the window's seven passes are usable
        assert (s["valid_fraction"].values >= 0.2).sum() >= 3
    print("demo generation per village (s):", {k: round(t, 2) for k, t in timings.items()},
          "total", round(sum(timings.values()), 2))
    ids = {v.id for v in villages}
    assert len([i for i in demo_villages_with_drone() if i in ids]) >= 2
