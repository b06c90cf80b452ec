"""The demo source: Scene contract, determinism, and truth consistent with the pixels under
published indices (NDVI, MNDWI, BOI), planted changes, clouds vs SCL, drone orthomosaics."""
from __future__ import annotations

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
from sensing.demo.source import clear_cache
from sensing.base import Source
from sensing.errors import NoDataError
from sensing.scene import check_scene

from support.paths import REPO  # noqa: E402
from support.demo_scenes import ALL, HONGWEI, PANKENG, PLAIN, _digest  # noqa: E402
BOI_T = 0.065  # Yao et al. 2019, on Rrs


@pytest.fixture(scope="module")
def src() -> DemoSource:
    return DemoSource()


@pytest.fixture(scope="module")
def scene(src):
    return src.load(PANKENG, *ALL)


@pytest.fixture(scope="module")
def data(scene):
    """Computed bands (NumPy) and the indices the tests use."""
    s = scene.compute()
    b = {k: s[k].values for k in s.data_vars}
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (b["nir"] - b["red"]) / (b["nir"] + b["red"])
        mndwi = (b["green"] - b["swir16"]) / (b["green"] + b["swir16"])  # Xu 2006
        rrs = {k: b[k] / np.pi for k in ("blue", "green", "red")}
        boi = (rrs["green"] - rrs["red"]) / (rrs["blue"] + rrs["green"] + rrs["red"])  # Yao et al. 2019
    return {"bands": b, "ndvi": ndvi, "mndwi": mndwi, "boi": boi, "scene": s}


@pytest.fixture(scope="module")
def truth(src):
    return src.truth(PANKENG)


# --------------------------------------------------------------------------- contract
def test_scene_follows_the_contract(scene, src):
    check_scene(scene)
    grid = grid_for(PANKENG, 10.0)
    assert tuple(scene.data_vars) == S2_BANDS == (
        "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22")
    assert all(scene[b].dtype == np.float32 and scene[b].chunks is not None for b in S2_BANDS)
    assert scene.sizes == {"time": 5, "y": grid.height, "x": grid.width}
    assert str(scene.rio.crs) == grid.crs == "EPSG:32650"
    assert tuple(scene.rio.transform())[:6] == tuple(grid.transform)[:6]
    np.testing.assert_allclose(scene["x"].values, grid.coords()[1])
    assert [str(t)[:10] for t in scene["time"].values] == list(DEFAULT_DATES)
    assert list(scene["item_id"].values) == [f"DEMO_S2_meijiang-sanjiao-pankeng_{d.replace('-', '')}"
                                             for d in DEFAULT_DATES]
    a = scene.attrs
    assert a["sensor"] == "sentinel-2-l2a" and a["demo"] is True and a["source"] == "demo"
    assert a["seed"] == 2024 and a["village_id"] == PANKENG.id
    assert any("Kokaly" in c for c in a["spectra_sources"]) and any("Yao" in c for c in a["spectra_sources"])
    assert src.kind == "demo" and hash(src) == hash(DemoSource())
    assert isinstance(src, Source)
    json.dumps(src.describe())


def test_reflectance_is_physical(data):
    for name, arr in data["bands"].items():
        v = arr[np.isfinite(arr)]
        assert v.min() > 0 and v.max() < 0.7, name


def test_window_selects_dates_and_outside_is_no_data(src):
    one = src.load(PANKENG, dt.date(2024, 7, 18), dt.date(2024, 7, 18))
    assert [str(t)[:10] for t in one["time"].values] == ["2024-07-18"]
    two = src.load(PANKENG, "2024-04-20", dt.datetime(2024, 10, 25, 23))
    assert two.sizes["time"] == 3
    with pytest.raises(NoDataError, match=r"meijiang-sanjiao-pankeng.*2023-01-01.*2023-12-31"):
        src.load(PANKENG, dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    with pytest.raises(NoDataError):
        src.load(PANKENG, dt.date(2024, 7, 19), dt.date(2024, 10, 24))


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


def test_other_sensor_and_dates():
    src = DemoSource(sensor="landsat-c2-l2", resolution=30.0, dates=("2024-03-01", "2024-08-01"), cloud_cover=0.0)
    s = src.load(PLAIN, *ALL)
    check_scene(s)
    assert tuple(s.data_vars) == ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
    assert s.rio.resolution()[0] == 30.0 and s["item_id"].values[0].startswith("DEMO_LC_")
    assert float(s["valid_fraction"].min()) == 1.0 and not np.isnan(s["red"].values).any()
    t = src.truth(PLAIN)
    assert (t.attrs["change_from"], t.attrs["change_to"]) == ("2024-03-01", "2024-08-01")


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_different_seed_different_layout(data, truth):
    first = _digest(data["scene"])
    clear_cache()
    again = DemoSource(seed=2024).load(PANKENG, *ALL)
    assert _digest(again.compute()) == first
    assert DemoSource(seed=2024).truth(PANKENG).land_cover.equals(truth.land_cover)
    other = DemoSource(seed=7).truth(PANKENG)
    assert (other.land_cover.values != truth.land_cover.values).mean() > 0.3
    assert (other.water.values[0] != truth.water.values[0]).sum() > 1000


def test_same_bytes_in_a_fresh_process_with_another_hash_seed():
    """No salted hash(): a new interpreter with a different PYTHONHASHSEED renders the same."""
    code = (
        "import sys; sys.path.insert(0, {tests!r});"
        "from support.demo_scenes import PLAIN, ALL, _digest; from sensing.demo import DemoSource;"
        "print(_digest(DemoSource(seed=11).load(PLAIN, *ALL).compute()))"
    ).format(tests=str(REPO / "tests"))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    here = _digest(DemoSource(seed=11).load(PLAIN, *ALL).compute())
    assert out.stdout.strip().splitlines()[-1] == here


# --------------------------------------------------------------------------- truth vs pixels
def test_forest_evergreen_and_paddy_seasonal(data, truth):
    lc = truth.land_cover.values
    ndvi = data["ndvi"]
    for t in range(lc.shape[0]):
        assert np.nanmean(ndvi[t][lc[t] == 1]) > 0.7
    jan, jul = DEFAULT_DATES.index("2024-01-15"), DEFAULT_DATES.index("2024-07-18")
    paddy_jan = np.nanmean(ndvi[jan][lc[jan] == 2])
    paddy_jul = np.nanmean(ndvi[jul][lc[jul] == 2])
    assert paddy_jul - paddy_jan > 0.3, (paddy_jan, paddy_jul)
    assert paddy_jan < 0.4 and paddy_jul > 0.65


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

    black, clear_w, algal, river = where(13), where(11), where(12), where(10)
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


def test_planted_changes_are_in_the_pixels(data, truth, src):
    d0, d1 = truth.attrs["change_from"], truth.attrs["change_to"]
    assert (d0, d1) == ("2024-04-20", "2024-07-18")
    i0, i1 = DEFAULT_DATES.index(d0), DEFAULT_DATES.index(d1)
    assert i1 == i0 + 1
    lc = truth.land_cover.values
    loss = truth.vegetation_loss.values
    gain = truth.water_gain.values
    turned = truth.became_black_odorous.values
    assert loss.sum() * 100 >= 20_000 and gain.sum() * 100 >= 5_000 and turned.sum() * 100 >= 5_000
    assert (lc[i0][loss] == 1).all() and (lc[i1][loss] == 5).all()
    assert (lc[i0][gain] == 3).all() and (lc[i1][gain] == 11).all()
    assert np.isin(lc[i0][turned], (11, 12)).all() and (lc[i1][turned] == 13).all()
    # nothing changes before the planted pair, and the change persists afterwards
    assert (lc[0] == lc[i0]).all() and (lc[i1] == lc[-1]).all()
    ndvi, mndwi, boi = data["ndvi"], data["mndwi"], data["boi"]
    assert np.nanmean(ndvi[i0][loss]) - np.nanmean(ndvi[i1][loss]) > 0.3
    assert np.nanmean(mndwi[i0][gain]) < 0 < np.nanmean(mndwi[i1][gain])
    assert np.nanmean(boi[i0][turned]) >= BOI_T > np.nanmean(boi[i1][turned])
    # the planted areas, the channel and its ponds are never under cloud or shadow
    cloud = truth.cloud.values
    for mask in (loss, gain, turned, truth.black_odorous.values[-1]):
        assert not (cloud & mask).any()


def test_cloud_nans_match_scl(data, truth, src, scene):
    scl = src.scl(PANKENG)
    assert scl.dtype == np.uint8 and scl.dims == ("time", "y", "x")
    assert set(np.unique(scl.values)) <= {3, 4, 5, 6, 8, 9}
    masked = np.isin(scl.values, (3, 8, 9))
    for name, arr in data["bands"].items():
        assert np.array_equal(np.isnan(arr), masked), name
    # the project's SCL rule (sensing.masking) gives exactly the NaN pattern
    from sensing.masking import scl_valid

    assert np.array_equal(scl_valid(scl).values, ~np.isnan(data["bands"]["red"]))
    assert np.array_equal(truth.cloud.values, masked)
    assert (scl.values == 3).any() and (scl.values == 9).any()  # clouds cast shadows
    assert 0.02 < masked.mean() < 0.25
    # SCL water = truth water where clear
    clear = ~masked
    assert np.array_equal((scl.values == 6)[clear], truth.water.values[clear])
    # valid fraction = clear share of the village polygon
    from sensing.masking import aoi_mask

    inside = aoi_mask(PANKENG.geometry, grid_for(PANKENG, 10.0)).values
    expect = [(~masked[t] & inside).sum() / inside.sum() for t in range(masked.shape[0])]
    np.testing.assert_allclose(scene["valid_fraction"].values, expect)


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
        # inside the satellite grid
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
    assert date > dt.date.fromisoformat(src.truth(PANKENG).attrs["change_to"])  # shows the black pond
    assert src.extra_scenes(PANKENG, *ALL) == {}  # opt-in
    src = DemoSource(drone_stream=True)
    assert set(src.extra_scenes(PANKENG, *ALL)) == {"drone"}
    assert src.extra_scenes(PANKENG, dt.date(2024, 1, 1), dt.date(2024, 3, 1)) == {}
    assert src.extra_scenes(PLAIN, *ALL) == {}


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
        s = src.load(v, *ALL).compute()
        timings[v.id] = time.perf_counter() - t0
        check_scene(s, require_dask=False)
        tr = src.truth(v)
        assert tr.vegetation_loss.sum() * 100 >= 20_000 and tr.water_gain.sum() * 100 >= 5_000
        assert float(s["valid_fraction"].min()) > 0.5
    print("demo generation per village (s):", {k: round(t, 2) for k, t in timings.items()},
          "total", round(sum(timings.values()), 2))
    ids = {v.id for v in villages}
    assert len([i for i in demo_villages_with_drone() if i in ids]) >= 2
