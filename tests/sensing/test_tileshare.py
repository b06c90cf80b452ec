"""Read each tile once (sensing.tileshare): villages sharing a tile and date get, from one load
over the union of their boxes, exactly the Scene of their own load (pixels, coordinates,
valid fractions, attrs), and one date of every village of a cluster is read at once."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sensing import tileshare
from sensing.files import FilesSource
from sensing.stac import StacSource

from support.flow_items import CRS, PIX, s2_items, village_geometry, window_corner
from support.stac_fixtures import utm_box_village, village, write_cog, write_item

#: three villages inside the synthetic 35MNM window, at offsets that are not multiples of the
#: 20 m and 60 m assets' pixels (their bands are resampled onto the 10 m grid)
ROWS_COLS = {"va": ((47, 81), (49, 83)), "vb": ((81, 131), (50, 90)), "vc": ((61, 101), (91, 133))}


def _same_scene(shared: xr.Dataset, own: xr.Dataset) -> None:
    assert list(shared.data_vars) == list(own.data_vars)
    assert shared.sizes == own.sizes
    for b in own.data_vars:
        np.testing.assert_array_equal(shared[b].values, own[b].values)  # NaN where NaN, bit for bit
        assert shared[b].attrs == own[b].attrs
    for c in own.coords:
        np.testing.assert_array_equal(shared[c].values, own[c].values)
    assert shared.rio.transform() == own.rio.transform() and shared.rio.crs == own.rio.crs
    attrs = {k: v for k, v in shared.attrs.items() if k not in (tileshare.SHARED, tileshare.SHARED_VILLAGE)}
    assert attrs == own.attrs
    assert shared[next(iter(own.data_vars))].chunks == own[next(iter(own.data_vars))].chunks
    for scene in (shared, own):  # bands Dask-backed, coordinates (item ids, valid fractions) in memory
        assert all(scene[b].chunks is not None for b in scene.data_vars)
        assert [c for c in scene.coords if scene[c].chunks is not None] == []


@pytest.fixture(scope="module")
def stac_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("tileshare-stac")
    for it in s2_items(root / "cogs"):
        write_item(root / "items", it)
    villages = [village(village_geometry(r, c), vid) for vid, (r, c) in ROWS_COLS.items()]
    return StacSource(url=str(root / "items")), villages


def test_stac_villages_of_one_tile_get_their_own_loads_scene(stac_world):
    src, villages = stac_world
    shared = tileshare.load_many(src, villages, "2020-06-01", "2020-07-31")
    assert set(shared) == {v.id for v in villages}
    tokens = {sc.attrs[tileshare.SHARED] for sc in shared.values()}
    assert len(tokens) == 1  # one cluster: one load
    for v in villages:
        own = src.load(v, "2020-06-01", "2020-07-31")
        # the cloudy 2020-07-01 is dropped by each village's valid fraction, as in its own load
        assert [str(t)[:10] for t in own["time"].values] == ["2020-06-16", "2020-07-16"]
        _same_scene(shared[v.id], own)
    tileshare.release(list(shared.values()))


def test_one_date_of_a_cluster_is_read_once_for_every_village(stac_world, monkeypatch):
    import dask

    src, villages = stac_world
    shared = tileshare.load_many(src, villages, "2020-06-01", "2020-07-31")
    calls = []
    real = dask.compute
    monkeypatch.setattr(dask, "compute", lambda *a, **k: calls.append(len(a)) or real(*a, **k))
    for i in (0, 1):  # date by date, as a batch runs them
        got = {vid: tileshare.read_date(sc.isel(time=i)) for vid, sc in shared.items()}
        for vid, sc in shared.items():
            want = sc.isel(time=i).compute()
            for b in sc.data_vars:
                np.testing.assert_array_equal(got[vid][b].values, want[b].values)
                assert not got[vid][b].chunks  # in memory
    # two reads (one per date), each of the three villages' windows in one computation (the
    # comparisons above compute each window again: three per date)
    assert calls.count(3) == 2
    tileshare.release(list(shared.values()))


def test_clusters_bound_the_union_box():
    # four 1 km boxes in a row at 10 m: 10,000 pixels each; a 5 km gap before the last
    boxes = {"a": (0, 0, 1000, 1000), "b": (1000, 0, 2000, 1000), "c": (2000, 0, 3000, 1000),
             "far": (8000, 0, 9000, 1000)}
    assert tileshare.clusters(boxes, 10.0) == [["a", "b", "c"], ["far"]]  # a-far: 90,000 px > 2 x 40,000
    assert tileshare.clusters(boxes, 10.0, max_ratio=10) == [["a", "b", "c", "far"]]
    assert tileshare.clusters(boxes, 10.0, max_pixels=20_000) == [["a", "b"], ["c"], ["far"]]


def test_files_villages_of_one_file_get_their_own_loads_scene(tmp_path):
    x0, y0 = window_corner()
    rng = np.random.default_rng(5)
    folder = tmp_path / "files"
    folder.mkdir()
    for day in ("20200616", "20200716"):
        data = rng.integers(1, 4000, size=(4, 180, 180)).astype("uint16")
        data[:, 30:40, 60:70] = 0  # no data
        write_cog(folder / f"scene_{day}.tif", data, _affine(x0, y0), CRS)
    src = FilesSource(paths=folder, band_map=("blue", "green", "red", "nir"), scale=0.0001)
    villages = [utm_box_village(CRS, x0 + c0 * PIX, y0 - r1 * PIX, x0 + c1 * PIX, y0 - r0 * PIX, vid)
                for vid, ((r0, r1), (c0, c1)) in ROWS_COLS.items()]
    shared = tileshare.load_many(src, villages, "2020-01-01", "2020-12-31")
    assert set(shared) == {v.id for v in villages}
    for v in villages:
        _same_scene(shared[v.id], src.load(v, "2020-01-01", "2020-12-31"))
    tileshare.release(list(shared.values()))


def test_sources_without_a_shared_load_are_left_to_their_own():
    from sensing.demo import DemoSource

    assert tileshare.load_many(DemoSource(), [], "2024-01-01", "2024-02-01") == {}


def _affine(x0: float, y0: float):
    from affine import Affine

    return Affine(PIX, 0, x0, 0, -PIX, y0)
