"""The cast-shadow guard of the black-odorous screening (indices.castshadow): the sun's
position against an independent formula, and the geometry on hand-made rasters."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import indices
from indices import castshadow as cs


@pytest.mark.parametrize("day", ["2024-01-15", "2024-04-20", "2024-07-18", "2024-10-25"])
def test_solar_position_agrees_with_the_textbook_formula(day):
    """Spencer's declination against Cooper's (sensing.demo.clouds, an independent, simpler
    implementation: its declination is off by up to about 1 degree near the equinoxes) at 10:30
    local solar time, 22.8 N."""
    import datetime as dt

    from sensing.demo.clouds import solar_position as cooper

    zen, az = cs.solar_position(day, 22.8, 113.3)  # a bare date: 10:30 local solar time
    z2, a2 = cooper(dt.date.fromisoformat(day), 22.8)
    assert zen == pytest.approx(z2, abs=1.5) and az == pytest.approx(a2, abs=2.0)


def test_solar_position_from_utc_time_and_longitude():
    """At local solar noon on the June solstice the sun is at zenith |lat - 23.44| due south
    (north of the tropic); 02:30 UTC at 120 E is about 10:30 local solar time."""
    zen, az = cs.solar_position("2024-06-21T12:00:00", 45.0, 0.0)
    assert zen == pytest.approx(45.0 - 23.44, abs=0.5) and az == pytest.approx(180.0, abs=2.0)
    z1, a1 = cs.solar_position("2024-01-15T02:30:00", 22.8, 120.0)
    z2, a2 = cs.solar_position("2024-01-15", 22.8, 120.0)
    assert z1 == pytest.approx(z2, abs=2.5) and a1 == pytest.approx(a2, abs=4.0)  # the equation of time: ~9 min


def _grid(n=12):
    y = 100.0 - 10.0 * np.arange(n)  # north-up: rows run south
    x = 10.0 * np.arange(n)
    return dict(dims=("y", "x"), coords={"y": y, "x": x})


def test_a_strip_on_the_sunward_shore_of_a_lit_pond_is_a_cast_shadow():
    """A pond (rows 2-7), a suspect strip on its south shore (row 7), houses south of it; sun in
    the south (azimuth 180, zenith 50: a 20 m caster's shadow reaches 2.4 px, + 0.5): the strip
    is guarded. With the sun in the north (southern hemisphere) the same strip is not."""
    water = np.zeros((12, 12), bool)
    water[2:8, 2:10] = True
    sus = np.zeros_like(water)
    sus[7, 2:10] = True
    g = _grid()
    kw = dict(sun_zenith=50.0, pixel_size_m=10.0, max_height_m=20.0, margin_px=0.5)
    south = cs.cast_shadow_strips(xr.DataArray(sus, **g), xr.DataArray(water, **g), sun_azimuth=180.0, **kw)
    assert south.values[7, 2:10].all() and south.values.sum() == 8
    north = cs.cast_shadow_strips(xr.DataArray(sus, **g), xr.DataArray(water, **g), sun_azimuth=0.0, **kw)
    assert not north.values.any()  # going away from a northern sun meets land, not lit water
    # a high summer sun (zenith 10: 3.5 m + half a pixel) leaves the shore row's centre in the sun;
    # a suspect band four rows wide (rows 4-7) is wider than the shadow's reach (2.9 px): not a shadow
    high = cs.cast_shadow_strips(xr.DataArray(sus, **g), xr.DataArray(water, **g), sun_azimuth=180.0,
                                 **{**kw, "sun_zenith": 10.0})
    assert not high.values.any()
    sus3 = sus.copy()
    sus3[4:7, 2:10] = True
    wide = cs.cast_shadow_strips(xr.DataArray(sus3, **g), xr.DataArray(water, **g), sun_azimuth=180.0, **kw)
    assert not wide.values.any()


def test_channels_and_black_ponds_are_not_shadows():
    """A black-odorous channel (land on both sides) and a pond suspect across are not cast
    shadows whatever the sun: there is no sunlit water beyond them."""
    water = np.zeros((12, 12), bool)
    water[5:7, :] = True  # an east-west channel, 2 px wide
    water[8:11, 2:8] = True  # a pond
    g = _grid()
    for az in (0.0, 90.0, 180.0, 270.0):
        out = cs.cast_shadow_strips(xr.DataArray(water, **g), xr.DataArray(water, **g), sun_zenith=60.0,
                                    sun_azimuth=az, pixel_size_m=10.0)
        assert not out.values.any(), az


def test_guard_removes_the_strip_from_the_suspects_and_records_it():
    """guard_cast_shadows: a dark grey strip on the south shore of an ordinary green pond is a
    suspect of the votes, and after the guard it is not (cast_shadow set, guarded); lit water is
    water-mask water that at most 2 methods flag (the green pond: none)."""
    g = _grid()
    water = np.zeros((12, 12), bool)
    water[2:8, 2:10] = True
    pond, strip = (0.008, 0.018, 0.010), (0.004, 0.006, 0.0058)  # docs: ordinary, black-odorous spectra (Rrs)
    bands = {b: np.full((12, 12), 0.1) for b in ("blue", "green", "red")}
    for k, b in enumerate(("blue", "green", "red")):
        bands[b][water] = math.pi * pond[k]
        bands[b][7, 2:10] = math.pi * strip[k]
    ds = xr.Dataset({b: xr.DataArray(v, **g) for b, v in bands.items()}, attrs={"sensor": "sentinel-2-l2a"})
    wm = xr.DataArray(water, **g)
    flags = indices.black_odorous_pixels(ds, wm).compute()
    assert flags["is_suspect"].values.sum() == 8
    out = indices.guard_cast_shadows(flags, wm, wm, sun_zenith=50.0, sun_azimuth=170.0, pixel_size_m=10.0)
    assert out["cast_shadow"].values.sum() == 8 and not out["is_suspect"].values.any()
    assert out["guarded"].values[7, 2:10].all() and out.attrs["cast_shadow_guard_applied"] == 1
    off = indices.guard_cast_shadows(flags, wm, wm, sun_zenith=50.0, sun_azimuth=170.0, pixel_size_m=10.0,
                                     params=indices.BlackOdorousParams(cast_shadow_guard=False))
    assert off["is_suspect"].values.sum() == 8 and off.attrs["cast_shadow_guard_applied"] == 0


def test_scene_sun_prefers_the_scenes_own_angles():
    g = _grid(3)
    ds = xr.Dataset({"blue": xr.DataArray(np.zeros((3, 3)), **g)}, attrs={"sun_zenith": 33.0, "sun_azimuth": 140.0})
    assert cs.scene_sun(ds) == (33.0, 140.0)
    with pytest.raises(indices.IndicesError, match="time"):
        cs.scene_sun(ds.assign_attrs(sun_zenith=None))
    with pytest.raises(indices.IndicesError, match="CRS"):  # no grid to place: no latitude
        cs.scene_sun(ds.assign_attrs(sun_zenith=None).expand_dims(time=[np.datetime64("2024-01-15")]).isel(time=0))
    utm = ds.assign_attrs(sun_zenith=None).rio.write_crs("EPSG:32649").assign_coords(
        x=ds.x + 500000.0, y=ds.y + 2500000.0).expand_dims(time=[np.datetime64("2024-01-15")]).isel(time=0)
    zen, az = cs.scene_sun(utm)  # about 22.6 N, 111 E: the bare date at 10:30 local solar time
    assert (zen, az) == pytest.approx(cs.solar_position("2024-01-15", 22.6, 111.0), abs=0.3)


def test_guard_from_the_scene_or_not_at_all():
    """guard_scene_cast_shadows takes the sun and the pixel size from the scene; a scene whose
    sun cannot be placed (no time) is left unguarded, and says why."""
    g = _grid()
    water = np.zeros((12, 12), bool)
    water[2:8, 2:10] = True
    bands = {b: np.full((12, 12), 0.1) for b in ("blue", "green", "red")}
    for k, b in enumerate(("blue", "green", "red")):
        bands[b][water] = math.pi * (0.008, 0.018, 0.010)[k]
        bands[b][7, 2:10] = math.pi * (0.004, 0.006, 0.0058)[k]
    ds = xr.Dataset({b: xr.DataArray(v, **g) for b, v in bands.items()}, attrs={"sensor": "sentinel-2-l2a"})
    ds = ds.assign_coords(x=ds.x + 500000.0, y=ds.y + 2500000.0).rio.write_crs("EPSG:32649")
    wm = xr.DataArray(water, dims=("y", "x"), coords={"y": ds.y, "x": ds.x})
    flags = indices.black_odorous_pixels(ds, wm).compute()
    dated = ds.expand_dims(time=[np.datetime64("2024-01-15")]).isel(time=0)
    out = indices.guard_scene_cast_shadows(flags, wm, wm, dated)  # January, 22.6 N: the sun low in the south-south-east
    assert out["cast_shadow"].values.sum() == 8 and out.attrs["sun_zenith"] > 45
    undated = indices.guard_scene_cast_shadows(flags, wm, wm, ds)
    assert undated["is_suspect"].values.sum() == 8 and undated.attrs["cast_shadow_guard_applied"] == 0
    assert "time" in undated.attrs["cast_shadow_not_applied"]
