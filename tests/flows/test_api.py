"""flows.api on a demo output: lazy georeferenced products, EPSG:4326 vectors, indicator
tables that add up, byte-identical re-runs and clear errors for bad ids and dates."""
from __future__ import annotations

import shutil

import dask.array as da
import numpy as np
import pandas as pd
import pytest

from flows import api
from flows.products.atomic import sha256_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def out(demo_out):
    return demo_out


def test_villages_dates_and_pairs(out, demo_villages):
    assert api.villages_in(out) == sorted(v.id for v in demo_villages)
    for v in demo_villages:
        ds = api.dates(out, v.id)
        assert len(ds) >= 3 and ds == sorted(ds)
        # a change against the same season for every calendar month of the dates, nothing else
        from flows.products.layout import month_periods

        assert api.change_pairs(out, v.id) == month_periods(ds)


def test_open_products_is_lazy_dask_with_the_village_crs(out, demo_villages):
    from aoi import grid_for

    v = demo_villages[0]
    date = api.dates(out, v.id)[-1]
    ds = api.open_products(out, v.id, date)
    assert {"ndvi", "mndwi", "water_mask", "black_odorous"} <= set(ds.data_vars)
    grid = grid_for(v, 10.0)
    for name, arr in ds.data_vars.items():
        assert isinstance(arr.data, da.Array), name  # nothing read yet
        assert arr.dims == ("y", "x")
        assert arr.rio.crs.to_string() == grid.crs, name
    assert ds.attrs == {"village": v.id, "date": date, "stream": "main"}
    ndvi = ds["ndvi"].compute()
    vals = ndvi.values[np.isfinite(ndvi.values)]
    assert vals.size > 0.5 * ndvi.size and vals.min() >= -1 and vals.max() <= 1
    # water (mask 1) is where MNDWI is high, land where it is low
    mask = ds["water_mask"].values
    mndwi = ds["mndwi"].values
    assert np.nanmean(mndwi[mask == 1]) > np.nanmean(mndwi[mask == 0]) + 0.3

    pair = api.change_pairs(out, v.id)[-1]
    ch = api.open_change(out, v.id, *pair)
    assert isinstance(ch["ndvi_change"].data, da.Array)
    assert ch["ndvi_change"].rio.crs.to_string() == grid.crs


def test_vectors_are_geodataframes_in_epsg4326(out, demo_villages):
    n_suspects = 0
    for v in demo_villages:
        for date in api.dates(out, v.id):
            wb = api.water_bodies(out, v.id, date)
            sus = api.suspects(out, v.id, date)
            for gdf in (wb, sus):
                assert gdf.crs.to_epsg() == 4326
            assert len(wb) > 0
            if len(sus):
                # the suspects are the water bodies whose status says so
                assert set(sus["wb_id"]) == set(wb.loc[wb["status"] == "suspect_black_odorous", "wb_id"])
                minx, miny, maxx, maxy = sus.total_bounds
                assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
                n_suspects += len(sus)
        pairs = api.change_pairs(out, v.id)
        vec = api.change_vectors(out, v.id, *pairs[0])
        assert {"vegetation_loss", "vegetation_gain", "water_gain", "water_loss",
                "new_black_odorous_suspects"} <= set(vec)
        assert all(g.crs is None or g.crs.to_epsg() == 4326 for g in vec.values())
    assert n_suspects > 0  # the demo plants black-odorous water


def test_indicators_one_row_per_village_and_date(out, demo_villages):
    from flows.products.tables import INDICATOR_COLUMNS

    table = api.indicators(out)
    assert list(table.columns) == INDICATOR_COLUMNS
    main = table[table["stream"] == "main"]
    assert not main.duplicated(["village_id", "date"]).any()
    for v in demo_villages:
        rows = main[main["village_id"] == v.id]
        assert list(rows["date"].dt.strftime("%Y-%m-%d")) == api.dates(out, v.id)
        one = api.indicators(out, v.id)
        assert len(one[one["stream"] == "main"]) == len(rows)
        # each row matches the date's products: suspects counted = suspects written
        for _, r in rows.iterrows():
            d = r["date"].strftime("%Y-%m-%d")
            assert r["n_black_odorous_suspects"] == len(api.suspects(out, v.id, d))
            assert r["n_water_bodies"] == len(api.water_bodies(out, v.id, d))
        # the change alerts land on the date they were first seen: the planted clearing's area on
        # one date after 2025-11-09, nothing on any other date
        alerts = api.read_geojson(out / v.id / "watches" / "vegetation_loss_alerts.geojson")
        by_date = dict(zip(rows["date"].dt.strftime("%Y-%m-%d"), rows["vegetation_loss_area_m2"]))
        expect = {d: float(alerts.loc[alerts["first_date"].astype(str).str[:10] == d, "area_m2"].sum()) for d in by_date}
        assert by_date == expect and sum(by_date.values()) > 20_000
        assert all(a == 0 for d, a in by_date.items() if d < "2025-11-09")


def test_run_wide_table_is_the_concat_of_village_tables(out, demo_villages):
    run = pd.read_parquet(out / "indicators.parquet")
    parts = pd.concat([pd.read_parquet(out / v.id / "indicators.parquet") for v in demo_villages],
                      ignore_index=True)
    parts = parts.sort_values(["village_id", "stream", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(run, parts)
    pd.testing.assert_frame_equal(api.indicators(out), run)
    assert set(run["village_id"]) == {v.id for v in demo_villages}


def test_manifest_checksums_match_the_files(out, demo_villages):
    v = demo_villages[1]
    date = api.dates(out, v.id)[0]
    m = api.manifest(out, v.id, date)
    assert m["village"]["id"] == v.id and m["inputs"]["date"] == date
    for name, meta in m["outputs"].items():
        assert sha256_file(out / v.id / date / name) == meta["sha256"]


def test_rerun_of_a_date_reproduces_the_same_bytes(out, demo_villages, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    v = demo_villages[0]
    date = api.dates(copy, v.id)[1]  # a date with a previous one: water-body ids are matched
    folder = copy / v.id / date
    before = {p.name: sha256_file(p) for p in folder.iterdir() if p.is_file()}
    table_before = sha256_file(copy / "indicators.parquet")

    skipped = api.rerun(v.id, date, out=copy)
    assert skipped.reused  # same inputs: nothing to do

    (folder / "ndvi.tif").unlink()  # a lost product
    redone = api.rerun(v.id, date, out=copy, force=True)
    assert not redone.reused
    after = {p.name: sha256_file(p) for p in folder.iterdir() if p.is_file()}
    assert after == before  # every COG, GeoJSON, the manifest: the same bytes
    assert sha256_file(copy / "indicators.parquet") == table_before
    assert redone.indicators["n_black_odorous_suspects"] == len(api.suspects(copy, v.id, date))


@pytest.mark.parametrize("bad", ["../etc", "..", "a/b", "Meijiang Sanjiao", ""])
def test_bad_village_ids_are_value_errors(out, bad):
    with pytest.raises(ValueError, match="not a village id"):
        api.dates(out, bad)
    with pytest.raises(ValueError, match="not a village id"):
        api.open_products(out, bad, "2024-01-15")


def test_unknown_village_names_it(out):
    with pytest.raises(FileNotFoundError, match="no-such-village"):
        api.dates(out, "no-such-village")
    with pytest.raises(FileNotFoundError, match="no-such-village"):
        api.indicators(out, "no-such-village")


@pytest.mark.parametrize("bad", ["../2024-01-15", "2024-1-5", "2024-02-30", "latest", "2024-01-15/../x"])
def test_bad_dates_are_value_errors(out, demo_villages, bad):
    v = demo_villages[0].id
    with pytest.raises(ValueError, match="not a date"):
        api.open_products(out, v, bad)
    with pytest.raises(ValueError, match="not a date"):
        api.water_bodies(out, v, bad)
    with pytest.raises(ValueError, match="not a date"):
        api.open_change(out, v, bad, "2024-01-15")
    with pytest.raises(ValueError, match="not a date"):
        api.change_vectors(out, v, "2024-01-15", bad)


def test_missing_date_and_pair_name_the_village(out, demo_villages):
    v = demo_villages[0].id
    with pytest.raises(FileNotFoundError, match=f"{v} on 1999-01-01"):
        api.open_products(out, v, "1999-01-01")
    with pytest.raises(FileNotFoundError, match=f"{v} 1999-01-01..1999-02-01"):
        api.change_vectors(out, v, "1999-01-01", "1999-02-01")
    with pytest.raises(ValueError, match="not a stream"):
        api.open_products(out, v, api.dates(out, v)[0], stream="../x")


def test_output_dir_from_the_environment(out, monkeypatch, tmp_path):
    monkeypatch.setenv("VILLAGEWATCH_OUT", str(out))
    assert api.output_dir("../nowhere") == out
    monkeypatch.delenv("VILLAGEWATCH_OUT")
    with pytest.raises(FileNotFoundError, match="VILLAGEWATCH_OUT"):
        api.output_dir(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="missing"):
        api.villages_in(tmp_path / "missing")


def test_true_colour_stretches_each_band():
    import xarray as xr

    y, x = np.arange(4), np.arange(5)
    ramp = np.linspace(0.0, 0.2, 20).reshape(4, 5).astype("float32")
    ds = xr.Dataset({b: (("y", "x"), ramp * k) for b, k in (("red", 1), ("green", 2), ("blue", 3))},
                    coords={"y": y, "x": x})
    ds["red"][0, 0] = np.nan
    rgb = api.true_colour(ds, percentiles=(0, 100))
    assert rgb.shape == (4, 5, 3)
    assert np.isnan(rgb[0, 0, 0])
    # a min-max stretch maps each band's ramp onto 0..1 whatever its scale
    np.testing.assert_allclose(rgb[..., 1].ravel(), np.linspace(0, 1, 20), atol=1e-6)
    np.testing.assert_allclose(rgb[..., 2], rgb[..., 1], atol=1e-6)
    with pytest.raises(KeyError, match="blue"):
        api.true_colour(ds.drop_vars("blue"))


def test_use_cjk_font_draws_chinese_without_missing_glyphs():
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    name = api.use_cjk_font()
    if name is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert name in api.CJK_FONTS
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title("疑似黑臭水体 植被减少 水域面积")
    ax.plot([0, 1], [-1, 1])  # a minus sign on the axis: axes.unicode_minus is off for CJK fonts
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        fig.canvas.draw()
