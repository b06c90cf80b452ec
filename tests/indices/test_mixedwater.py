"""indices.mixed_water (the black-odorous screening's water and the colour of mixed pixels) and
suspect reaches that need pure water: checked against linear mixtures built in the test."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import indices
from indices import BlackOdorousParams, mixed_water, suspect_reaches

BANDS = ("blue", "green", "red", "nir")
LAND = np.array([0.035, 0.085, 0.040, 0.300])  # grass (B, G, R, NIR reflectance)
POND = np.array([0.020, 0.040, 0.020, 0.006])  # ordinary pond water
BLACK = np.array([0.012, 0.016, 0.015, 0.008])  # black-odorous water: dark, flat, keeps some NIR
SHADOW = LAND * np.array([0.30, 0.25, 0.20, 0.05])  # a shadow on land: skylight, little NIR


def scene_from(cover: np.ndarray, spectra: dict[int, np.ndarray], res: float = 10.0) -> xr.Dataset:
    """A (y, x) reflectance scene: each pixel the linear mixture sum_k share_k x spectrum_k
    (``cover``: (k, y, x) shares of the spectra listed in ``spectra``, in order)."""
    table = np.stack(list(spectra.values()))  # (k, band)
    refl = np.einsum("kyx,kb->byx", cover, table)
    ny, nx = cover.shape[1:]
    coords = {"y": 1000.0 - res * (np.arange(ny) + 0.5), "x": res * (np.arange(nx) + 0.5)}
    ds = xr.Dataset({b: (("y", "x"), refl[i].astype("float64")) for i, b in enumerate(BANDS)}, coords=coords)
    return ds.rio.write_crs("EPSG:32649").assign_attrs(sensor="sentinel-2-l2a")


@pytest.fixture()
def ditch():
    """40 x 40 grass; a 6-px-wide pond (columns 5-10) of pure water in the mask; joined to it a
    ditch of black-odorous water 60 % of each pixel's area along row 20, columns 11-28; another
    such ditch, row 30, columns 20-30, that touches no water; a shadow on land, rows 5-8,
    columns 25-30."""
    ny = nx = 40
    water = np.zeros((ny, nx))
    black = np.zeros((ny, nx))
    shadow = np.zeros((ny, nx))
    water[:, 5:11] = 1.0
    black[20, 11:29] = 0.6
    black[30, 20:31] = 0.6
    shadow[5:9, 25:31] = 1.0
    land = 1.0 - water - black - shadow
    ds = scene_from(np.stack([land, water, black, shadow]), {0: LAND, 1: POND, 2: BLACK, 3: SHADOW})
    mask = xr.DataArray(water > 0.5, dims=("y", "x"), coords={"y": ds.y, "x": ds.x})
    return ds, mask


def test_water_fraction_and_unmixed_colour_are_the_mixture(ditch):
    """On a two-endmember mixture the NIR fraction is the water share (0.6) and the unmixed
    colour is the water's own spectrum (Adams et al. 1986 linear mixing), exactly."""
    ds, mask = ditch
    out = mixed_water(ds, mask)
    # water endmember = the pond interior's NIR; land endmember = the grass around it
    assert out.attrs["water_nir"] == pytest.approx(POND[3])
    # the fraction assumes the pond's NIR for the water: (N_land - N) / (N_land - N_pond)
    expected_f = (LAND[3] - (0.6 * BLACK[3] + 0.4 * LAND[3])) / (LAND[3] - POND[3])
    f = out["water_fraction"].values[20, 14:27]
    np.testing.assert_allclose(f, expected_f, rtol=1e-9)
    assert 0.59 < expected_f < 0.61
    # unmixed with that fraction: rho_w = (rho - (1 - f) rho_land) / f, the black spectrum up to
    # the small error the pond's NIR endmember makes (|f - 0.6| < 0.01)
    for i, b in enumerate(BANDS[:3]):
        got = out[b].values[20, 14:27]
        want = ((0.6 * BLACK[i] + 0.4 * LAND[i]) - (1 - expected_f) * LAND[i]) / expected_f
        np.testing.assert_allclose(got, want, rtol=1e-9)
        np.testing.assert_allclose(got, BLACK[i], atol=0.002)
    assert bool(out["unmixed"].values[20, 14:27].all())


def test_screening_water_joins_mixed_pixels_to_the_mask_only(ditch):
    """The joined ditch becomes screening water; the ditch that touches no water and the shadow
    on land (dark, little NIR: f 0.95) do not; the pond stays, its interior unchanged."""
    ds, mask = ditch
    out = mixed_water(ds, mask)
    sw, added = out["screening_water"].values, out["mixed_added"].values
    assert sw[20, 11:29].all() and added[20, 11:29].all()
    assert not sw[30, 12:].any()  # a ditch with the same water fraction, not joined to the mask
    assert not sw[5:9, 25:31].any() and out["water_fraction"].values[6, 27] > 0.9  # shadow: water-like NIR
    assert (sw & ~added).sum() == mask.values.sum() and not added[mask.values].any()
    np.testing.assert_array_equal(out["green"].values[:, 7], ds["green"].values[:, 7])  # pure water kept
    assert int(added.sum()) == 18


def test_mixed_pixels_off_or_without_nir(ditch):
    ds, mask = ditch
    off = mixed_water(ds, mask, params=BlackOdorousParams(mixed_pixels=False))
    assert off.attrs["mixed_pixels_applied"] == 0
    np.testing.assert_array_equal(off["screening_water"].values, mask.values)
    np.testing.assert_array_equal(off["red"].values, ds["red"].values)
    rgb = mixed_water(ds.drop_vars("nir"), mask)
    assert rgb.attrs["mixed_pixels_applied"] == 0 and not rgb["mixed_added"].values.any()


def test_more_demanding_fraction_keeps_the_ditch_out(ditch):
    """The ditch is 60 % water: asked for 70 %, the screening does not take it."""
    ds, mask = ditch
    out = mixed_water(ds, mask, params=BlackOdorousParams(mixed_min_fraction=0.7))
    assert not out["mixed_added"].values.any()


def test_mixed_params_are_checked():
    with pytest.raises(ValueError, match="mixed_min_fraction"):
        BlackOdorousParams(mixed_min_fraction=0.0)
    with pytest.raises(ValueError, match="must exceed mixed_exclusion_px"):
        BlackOdorousParams(mixed_window_px=2, mixed_exclusion_px=2)
    with pytest.raises(ValueError, match="reach_min_mask_pixels"):
        BlackOdorousParams(reach_min_mask_pixels=-1)


def test_mixed_water_keeps_the_grid_and_refuses_several_dates(ditch):
    ds, mask = ditch
    out = mixed_water(ds, mask)
    assert out["screening_water"].rio.crs == ds.rio.crs
    two = xr.concat([ds, ds], dim="time")
    with pytest.raises(indices.IndicesError, match="one date"):
        mixed_water(two, mask)


def test_suspect_reach_needs_suspect_pixels_of_the_mask():
    """A reach of 12 suspect pixels all outside the core (mixed pixels the screening added) is
    dropped when min_core_pixels=1; one holding a suspect core pixel stays."""
    water = np.zeros((12, 12), bool)
    water[1:4, :] = True  # a reach of 3 x 12
    water[8:11, :] = True
    sus = water.copy()
    core = np.zeros_like(water)
    core[9, 5] = True  # one suspect pixel of the mask in the second reach
    da = lambda a: xr.DataArray(a, dims=("y", "x"))  # noqa: E731
    both = suspect_reaches(da(sus), da(water), min_pixels=9).values
    assert both[1:4].all() and both[8:11].all()
    kept = suspect_reaches(da(sus), da(water), min_pixels=9, core=da(core), min_core_pixels=1).values
    assert not kept[1:4].any() and kept[8:11].all()


def test_dask_input_gives_dask_output(ditch):
    """A Dask scene gives a Dask result chunked alike, with the same values: the votes that follow
    stay lazy."""
    ds, mask = ditch
    lazy = mixed_water(ds.chunk({"y": 20, "x": 20}), mask)
    assert lazy["red"].chunks is not None and lazy["screening_water"].chunksizes["y"] == (20, 20)
    np.testing.assert_allclose(lazy["red"].values, mixed_water(ds, mask)["red"].values)


def _grid(a: np.ndarray) -> xr.DataArray:
    """A boolean (y, x) grid of 10 m pixels in UTM 49N (what ``water_bodies`` needs)."""
    ny, nx = a.shape
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": 1000.0 - 10.0 * (np.arange(ny) + 0.5),
                                                 "x": 10.0 * (np.arange(nx) + 0.5)})
    return da.rio.write_crs("EPSG:32649")


def test_a_pond_mostly_suspect_is_listed_whole():
    """A 5 x 4 pond (20 pixels = 2,000 m2 at 10 m, the national list's line) whose 16 inner
    and southern pixels are suspect and whose 4 northern edge pixels are not (mixed with the
    bank): split off as a reach, the suspect body is 16 x 100 = 1,600 m2 and falls to the
    provincial list (the tuning profile's 15 missed ponds, version 9); with
    ``whole_body_share`` 0.5 (16 / 20 = 0.8 >= 0.5, opt-in) the reach is the whole pond, 2,000 m2."""
    water = np.zeros((10, 10), bool)
    water[2:7, 3:7] = True  # 5 rows x 4 columns
    sus = water.copy()
    sus[2, 3:7] = False  # the northern edge row: 4 pixels not suspect
    part = suspect_reaches(_grid(sus), _grid(water), min_pixels=9)
    assert BlackOdorousParams().reach_whole_body_share is None  # off by default (docs/blackodorous.md)
    whole = suspect_reaches(_grid(sus), _grid(water), min_pixels=9,
                            whole_body_share=BlackOdorousParams(reach_whole_body_share=0.5).reach_whole_body_share)
    assert int(part.sum()) == 16 and int(whole.sum()) == 20
    split_part = indices.water_bodies(_grid(water), split=part)
    split_whole = indices.water_bodies(_grid(water), split=whole)
    assert sorted(split_part["area_m2"]) == [400.0, 1600.0]
    assert list(split_whole["area_m2"]) == [2000.0] and list(split_whole["size_class"]) == ["national"]


def test_a_minority_reach_is_still_split_off():
    """A black-odorous ditch (2 x 10 = 20 pixels) joined to an ordinary pond of 8 x 10 = 80
    pixels: 20 / 100 = 0.2 of the body, below 0.5, so it stays its own reach (the split's
    purpose: a ditch is not diluted by the pond it drains into). Two reaches of one body count
    together: 2 x 30 of 100 pixels = 0.6 take the whole body; at 0.7 they do not."""
    water = np.zeros((20, 20), bool)
    water[2:10, 2:12] = True  # the pond, 80 px
    water[10:12, 2:12] = True  # the ditch along its south side, 20 px
    sus = np.zeros_like(water)
    sus[10:12, 2:12] = True
    reach = suspect_reaches(_grid(sus), _grid(water), min_pixels=9, whole_body_share=0.5)
    assert int(reach.sum()) == 20 and not reach.values[2:10].any()
    two = np.zeros_like(water)
    two[2:5, 2:12] = True  # 30 px
    two[9:12, 2:12] = True  # 30 px (rows 9-11)
    assert int(suspect_reaches(_grid(two), _grid(water), min_pixels=9, whole_body_share=0.5).sum()) == 100
    assert int(suspect_reaches(_grid(two), _grid(water), min_pixels=9, whole_body_share=0.7).sum()) == 60


def test_whole_body_share_is_checked():
    with pytest.raises(ValueError, match="reach_whole_body_share"):
        BlackOdorousParams(reach_whole_body_share=0.0)
    with pytest.raises(ValueError, match="reach_whole_body_share"):
        BlackOdorousParams(reach_whole_body_share=1.5)
    assert BlackOdorousParams(reach_whole_body_share=None).as_dict()["reach_whole_body_share"] is None


def test_nir_seeds_are_opt_in_and_need_a_pure_interior():
    """Open water the mask missed whole (a 6 x 6 black-odorous pond: f = (N_land - N_black) /
    (N_land - N_pond) = (0.300 - 0.008) / (0.300 - 0.006) = 0.993) is screened only with
    ``mixed_seed_fraction`` set; a 2-pixel-wide strip of the same water (no 3 x 3 interior,
    like a 20 m caster's shadow at a 45 deg sun) is not seeded. A shadow on land 4 x 6 pixels
    (f 0.95) is seeded too: the reason the seeds are off by default."""
    ny = nx = 40
    water, black, shadow = np.zeros((ny, nx)), np.zeros((ny, nx)), np.zeros((ny, nx))
    water[:, 0:6] = 1.0
    black[20:26, 20:26] = 1.0  # the pond the mask missed
    black[32:34, 15:30] = 1.0  # a 2-px strip of dark water
    shadow[5:9, 25:31] = 1.0
    ds = scene_from(np.stack([1.0 - water - black - shadow, water, black, shadow]),
                    {0: LAND, 1: POND, 2: BLACK, 3: SHADOW})
    mask = xr.DataArray(water > 0.5, dims=("y", "x"), coords={"y": ds.y, "x": ds.x})
    expected_f = (LAND[3] - BLACK[3]) / (LAND[3] - POND[3])
    assert expected_f == pytest.approx(0.993, abs=5e-4)
    off = mixed_water(ds, mask)
    assert not off["screening_water"].values[20:26, 20:26].any() and not off["nir_seeds"].values.any()
    on = mixed_water(ds, mask, params=BlackOdorousParams(mixed_seed_fraction=0.75))
    seeds, sw = on["nir_seeds"].values, on["screening_water"].values
    np.testing.assert_allclose(on["water_fraction"].values[20:26, 20][[0, -1]], expected_f, rtol=1e-9)
    assert seeds[20:26, 20:26].all() and sw[20:26, 20:26].all()
    assert not seeds[32:34, 15:30].any() and not sw[32:34, 15:30].any()
    assert seeds[5:9, 25:31].all()  # the known cost: a wide shadow on land
    with pytest.raises(ValueError, match="mixed_seed_fraction"):
        BlackOdorousParams(mixed_seed_fraction=0.3)


def test_whole_body_counts_suspect_pixels_not_the_closed_reach():
    """A 10 x 10 pond (100 pixels) whose suspect pixels are rows 0, 2, 3 and 5 of it (40
    pixels): the 3 x 3 closing fills rows 1 and 4, so the reach is 60 pixels (0.6 of the pond),
    but only 0.4 of the pond is suspect, and the majority rule would call the whole pond
    ordinary: the reach stays a reach (60 pixels). At a share of 0.4 it takes the pond (100)."""
    water = np.zeros((14, 14), bool)
    water[2:12, 2:12] = True
    sus = np.zeros_like(water)
    for r in (0, 2, 3, 5):
        sus[2 + r, 2:12] = True
    assert int(sus.sum()) == 40
    assert int(suspect_reaches(_grid(sus), _grid(water), min_pixels=9).sum()) == 60
    assert int(suspect_reaches(_grid(sus), _grid(water), min_pixels=9, whole_body_share=0.5).sum()) == 60
    assert int(suspect_reaches(_grid(sus), _grid(water), min_pixels=9, whole_body_share=0.4).sum()) == 100
